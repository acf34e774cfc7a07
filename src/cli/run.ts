import { loadEnvironment, readPolicySources, type ModuleLoader } from '../engine/index.js';
import { reviewOf, type JsonValue } from '../shared/admission.js';
import { parseAdmissionRequest } from '../shared/admission-parse.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { PolicyContext } from '../shared/policy.js';
import { definitionForModule, isModuleReference } from './module-policy.js';
import { readJsonFile } from './read.js';
import { selectPolicy, withSettings } from './select.js';

export interface RunOptions {
  /** A manifest file (one or more policies), a policies.yml, or a folder of manifests. */
  readonly policy: string;
  readonly policyId?: string;
  readonly request: string;
  readonly settingsJson?: string;
  readonly namespaceObject?: string;
  readonly params?: string;
  /** Evaluate even when the policy's rules do not match the request (kwctl's behaviour). */
  readonly ignoreRules?: boolean;
  /** kwctl's `--execution-mode`, for a module without metadata. */
  readonly executionMode?: string;
  readonly allowContextAware?: boolean;
  /** Loads WebAssembly modules (the sandbox runtime). */
  readonly modules?: ModuleLoader;
}

/**
 * `palisade run`: one policy, one request, the AdmissionReview answer on stdout. The same
 * engine the server uses, with the API server's matching done here because no API server
 * stands in front of the CLI.
 */
export async function runCommand(
  options: RunOptions,
  logger: Logger,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  let def = isModuleReference(options.policy)
    ? await definitionForModule(options.policy, options)
    : selectPolicy(await readPolicySources(options.policy), options.policyId, options.policy);
  if (options.settingsJson !== undefined)
    def = withSettings(def, parseSettings(options.settingsJson));
  const request = parseAdmissionRequest(await readJsonFile(options.request), options.request);
  const context: PolicyContext = {
    ...(options.namespaceObject !== undefined
      ? { namespaceObject: await readJsonFile(options.namespaceObject) }
      : {}),
    ...(options.params !== undefined ? { params: await readJsonFile(options.params) } : {}),
  };
  const env = await loadEnvironment([def], {
    logger,
    ...(options.modules ? { modules: options.modules } : {}),
  });
  const response = await env.evaluate(def.id, request, 'validate', {
    context,
    matchRequest: options.ignoreRules !== true,
  });
  stdout.write(`${JSON.stringify(reviewOf(response), null, 2)}\n`);
}

/** `--settings-json` as JSON, or a `config_invalid` error saying why not. */
export function parseSettings(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new PalisadeError(
      'config_invalid',
      `--settings-json is not valid JSON: ${errorMessage(e)}`,
      { cause: e },
    );
  }
}
