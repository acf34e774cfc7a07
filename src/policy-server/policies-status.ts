import type { PolicyLoadState } from '../engine/types.js';

/**
 * Where the served policy set comes from, and whether its latest version was applied. The
 * operator reads it (with the per-policy states) to put load errors into policy status.
 */
export interface PolicySourceStatus {
  readonly kind: 'file' | 'configMap';
  /** The file path, or `<namespace>/<name>` of the ConfigMap. */
  readonly name?: string;
  /** The ConfigMap version whose policies serve now; absent for files. */
  readonly resourceVersion?: string;
  /**
   * Why the latest ConfigMap version is not the one serving (it does not parse, it has no
   * `policies.yml`, the ConfigMap was deleted). Absent when the latest version was applied.
   */
  readonly error?: string;
}

/** The body of `GET /policies`. */
export interface PoliciesStatus {
  readonly policies: Readonly<Record<string, PolicyLoadState>>;
  readonly source: PolicySourceStatus;
}

/**
 * What the policy server asks when `GET /policies` is called: read at every request, so the
 * answer always reflects the last `apply` and the last ConfigMap version seen.
 */
export interface PolicyStatusProvider {
  loadStates(): ReadonlyMap<string, PolicyLoadState>;
  source(): PolicySourceStatus;
}

/**
 * The `/policies` body. Each state is copied field by field so the wire format stays exactly
 * `{state, generation, error?, servingGeneration?}` whatever else an engine state may carry.
 */
export function policiesStatus(provider: PolicyStatusProvider): PoliciesStatus {
  const policies: Record<string, PolicyLoadState> = {};
  for (const [id, s] of provider.loadStates()) {
    policies[id] = {
      state: s.state,
      generation: s.generation,
      ...(s.error !== undefined ? { error: s.error } : {}),
      ...(s.servingGeneration !== undefined ? { servingGeneration: s.servingGeneration } : {}),
    };
  }
  return { policies, source: { ...provider.source() } };
}
