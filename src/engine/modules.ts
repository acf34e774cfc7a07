import { compileCelPolicy } from '../cel/policy.js';
import { PalisadeError } from '../shared/errors.js';
import type { PolicyModule } from '../shared/policy.js';
import type { ModuleSpec } from './definition.js';

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

/** Compiles a policy module; throws `settings_invalid` or `policy_load_failed` naming the module. */
export function loadModule(spec: ModuleSpec): PolicyModule {
  if (isCelModule(spec.module)) return compileCelPolicy(spec.settings, spec.settingsPath);
  throw new PalisadeError(
    'policy_load_failed',
    `module "${spec.module}" is not supported yet: this version evaluates CEL policies (builtin://cel or Kubewarden's cel-policy); WebAssembly modules come with the runtime`,
  );
}
