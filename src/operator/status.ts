import type { PolicyLoadState } from '../engine/types.js';
import type { JsonObject } from '../shared/admission.js';
import type { PolicyResource } from './webhooks.js';

export type PolicyStatusPhase = 'unscheduled' | 'scheduled' | 'pending' | 'active';

export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export interface PolicyStatus {
  readonly policyStatus: PolicyStatusPhase;
  /** The mode of the version that serves: what the cluster enforces now. */
  readonly mode: 'protect' | 'monitor' | 'unknown';
  readonly conditions: readonly Condition[];
  /** Palisade: why the configured version did not load on its policy server. */
  readonly loadError?: string;
  readonly observedGeneration?: number;
}

/** What the controller knows about one policy after a reconcile. */
export interface PolicyObservation {
  /** Its policy server exists (or dev mode serves everything). */
  readonly policyServerKnown: boolean;
  /** The policy server's report, absent while it has not answered. */
  readonly load: PolicyLoadState | undefined;
  /** The mode of the serving version, when one serves. */
  readonly servingMode: 'protect' | 'monitor' | undefined;
  /** A webhook configuration points at the policy. */
  readonly webhookRegistered: boolean;
}

function condition(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  now: string,
  previous: readonly Condition[],
  generation: number | undefined,
): Condition {
  const status = ok ? 'True' : 'False';
  const before = previous.find((c) => c.type === type);
  // metav1.Condition: the transition time moves only when the status does.
  const lastTransitionTime = before?.status === status ? before.lastTransitionTime : now;
  return {
    type,
    status,
    reason,
    message,
    lastTransitionTime,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

function previousConditions(policy: PolicyResource & { status?: JsonObject }): Condition[] {
  const conditions = policy.status?.['conditions'];
  return Array.isArray(conditions) ? (conditions as unknown as Condition[]) : [];
}

/**
 * Kubewarden's status vocabulary (policyStatus, mode, the three conditions), plus the load
 * error, so whoever can read the policy sees why it is not enforced without access to the
 * policy server's logs.
 */
export function policyStatus(
  policy: PolicyResource & { status?: JsonObject },
  observed: PolicyObservation,
  now: string,
): PolicyStatus {
  const previous = previousConditions(policy);
  const generation = policy.metadata.generation;
  const load = observed.load;
  const upToDate = load?.state === 'active';
  const serving = upToDate || load?.servingGeneration !== undefined;
  const phase: PolicyStatusPhase = !observed.policyServerKnown
    ? 'scheduled'
    : serving && observed.webhookRegistered
      ? 'active'
      : 'pending';
  const loadMessage =
    load === undefined
      ? 'the policy server has not reported on this policy yet'
      : load.state === 'active'
        ? 'the policy server serves this version'
        : load.servingGeneration !== undefined
          ? `this version failed to load; the previous version keeps serving: ${load.error ?? ''}`
          : `the policy failed to load: ${load.error ?? ''}`;
  const conditions = [
    condition(
      'PolicyActive',
      phase === 'active',
      phase === 'active' ? 'PolicyActive' : load?.state === 'failed' ? 'LoadFailed' : 'Pending',
      phase === 'active' ? 'the webhook is registered and a version serves' : loadMessage,
      now,
      previous,
      generation,
    ),
    condition(
      'PolicyServerConfigurationUpToDate',
      upToDate,
      upToDate ? 'ConfigurationUpToDate' : load?.state === 'failed' ? 'LoadFailed' : 'Pending',
      loadMessage,
      now,
      previous,
      generation,
    ),
    condition(
      'PolicyUniquelyReachable',
      upToDate && observed.webhookRegistered,
      upToDate && observed.webhookRegistered ? 'UniquelyReachable' : 'NotUniquelyReachable',
      upToDate
        ? 'every request reaches this version'
        : 'requests reach an earlier version, or none',
      now,
      previous,
      generation,
    ),
  ];
  return {
    policyStatus: phase,
    mode: observed.servingMode ?? 'unknown',
    conditions,
    ...(load?.state === 'failed' && load.error !== undefined ? { loadError: load.error } : {}),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}
