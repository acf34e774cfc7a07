import { compileCelPolicy } from '../cel/policy.js';
import { PalisadeError } from '../shared/errors.js';
import type { PolicyModule } from '../shared/policy.js';
import type { ModuleSpec } from './definition.js';
import type { ModuleLoader } from './types.js';

/**
 * Kubewarden's CEL policy published under these repositories is evaluated natively: the
 * same settings, compiled once, without its 14 MB WebAssembly module.
 */
const CEL_POLICY_REPOSITORIES = [
  'ghcr.io/kubewarden/policies/cel-policy',
  'ghcr.io/kubewarden/cel-policy',
];

/** True for `builtin://cel` and any reference (tag or digest) to Kubewarden's cel-policy. */
export function isCelModule(module: string): boolean {
  if (module === 'builtin://cel') return true;
  const bare = module.replace(/^registry:\/\//, '');
  const repository = bare.split('@')[0]?.replace(/:[^/:]+$/, '') ?? '';
  return CEL_POLICY_REPOSITORIES.includes(repository);
}

/** Where a module sits, for the loader: which policy, declared in which file. */
export interface ModuleOrigin {
  readonly policyId: string;
  readonly source: string;
  readonly allowedToMutate: boolean;
  readonly timeoutMs: number;
}

/** Compiles a policy module; rejects with `settings_invalid` or `policy_load_failed` naming it. */
export async function loadModule(
  spec: ModuleSpec,
  origin: ModuleOrigin,
  loader: ModuleLoader | undefined,
): Promise<PolicyModule> {
  if (isCelModule(spec.module)) return compileCelPolicy(spec.settings, spec.settingsPath);
  if (!loader) {
    throw new PalisadeError(
      'policy_load_failed',
      `module "${spec.module}" needs the WebAssembly runtime, which this evaluation was started without`,
    );
  }
  return loader({
    ...origin,
    module: spec.module,
    settings: spec.settings,
    settingsPath: spec.settingsPath,
    contextAwareResources: spec.contextAwareResources ?? [],
    // Kubewarden grants every capability to policies declared without a list.
    hostCapabilities: spec.hostCapabilities ?? ['*'],
    ...(spec.executionMode !== undefined ? { executionMode: spec.executionMode } : {}),
  });
}
