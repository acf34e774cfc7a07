import { PoliciesFileGroup, PoliciesFilePolicy } from '../api/policies/policies-file.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../shared/admission.js';
import { formatFieldErrors } from '../shared/errors.js';
import type { ModuleSpec, PolicyDefinition } from './definition.js';
import { schemaErrors } from '../shared/schema-errors.js';

/**
 * Definitions from Kubewarden's `policies.yml` map (policy id → policy or group). An entry
 * that does not validate becomes a definition carrying its error: the id still answers,
 * with the reason, and the other entries load.
 */
export function definitionsFromPoliciesFile(doc: JsonObject, source: string): PolicyDefinition[] {
  return Object.entries(doc).map(([id, entry]) => fromEntry(id, entry, source));
}

function fromEntry(id: string, entry: JsonValue, source: string): PolicyDefinition {
  const isGroup = isJsonObject(entry) && 'policies' in entry;
  const errors = schemaErrors(isGroup ? PoliciesFileGroup : PoliciesFilePolicy, entry, id);
  if (id.includes('/')) errors.push({ path: id, message: 'a policy id must not contain "/"' });
  const e = (isJsonObject(entry) ? entry : {}) as Partial<PoliciesFilePolicy & PoliciesFileGroup>;
  const base = { id, name: id, source, mode: e.policyMode ?? 'protect' } as const;
  const readError =
    errors.length > 0
      ? { readError: `${source}: invalid ${id}: ${formatFieldErrors(errors)}` }
      : {};
  if (isGroup) {
    const members = Object.entries(e.policies ?? {}).map(([name, m]) => ({
      name,
      module: m.module,
      settings: m.settings as JsonValue | undefined,
      settingsPath: `${id}.policies.${name}.settings`,
      ...(m.timeoutEvalSeconds !== undefined ? { timeoutEvalSeconds: m.timeoutEvalSeconds } : {}),
      ...runtimeFields(m),
    }));
    return {
      ...base,
      message: e.message ?? '',
      body: { type: 'group', expression: e.expression ?? '', members },
      ...readError,
    };
  }
  return {
    ...base,
    ...(e.message !== undefined ? { message: e.message } : {}),
    body: {
      type: 'policy',
      module: e.module ?? '',
      settings: e.settings as JsonValue | undefined,
      settingsPath: `${id}.settings`,
      allowedToMutate: e.allowedToMutate ?? false,
      ...(e.timeoutEvalSeconds !== undefined ? { timeoutEvalSeconds: e.timeoutEvalSeconds } : {}),
      ...runtimeFields(e),
    },
    ...readError,
  };
}

/** The fields only WebAssembly modules use, copied when present. */
function runtimeFields(
  e: Partial<
    Pick<PoliciesFilePolicy, 'contextAwareResources' | 'hostCapabilities' | 'executionMode'>
  >,
): Pick<ModuleSpec, 'contextAwareResources' | 'hostCapabilities' | 'executionMode'> {
  return {
    ...(e.contextAwareResources ? { contextAwareResources: e.contextAwareResources } : {}),
    ...(e.hostCapabilities ? { hostCapabilities: e.hostCapabilities } : {}),
    ...(e.executionMode ? { executionMode: e.executionMode } : {}),
  };
}
