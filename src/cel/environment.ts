import { Environment } from '@marcbachmann/cel-js';
import { registerCelExtensions } from './ext/index.js';
import { registerKubernetesLibraries } from './lib/index.js';

/**
 * Parse-time structural limits. Kubernetes bounds expressions by estimated cost; these
 * bound the size of what we are willing to compile at all, so a hostile manifest cannot
 * exhaust memory at load.
 */
export const CEL_LIMITS = {
  maxAstNodes: 10_000,
  maxDepth: 100,
  maxListElements: 1_000,
  maxMapEntries: 1_000,
  maxCallArguments: 32,
} as const;

/**
 * The root environment: the CEL standard library plus the Kubernetes and cel-go extension
 * libraries that Kubernetes' own environment and Kubewarden's cel-policy offer. Built once per
 * process; policies `clone()` it to declare their own variables, which freezes this root.
 */
export function createBaseEnvironment(): Environment {
  const env = new Environment({
    unlistedVariablesAreDyn: false,
    homogeneousAggregateLiterals: true,
    enableOptionalTypes: true,
    limits: CEL_LIMITS,
  });
  registerCelExtensions(env);
  registerKubernetesLibraries(env);
  return env;
}
