import { isJsonObject, type JsonObject } from '../shared/admission.js';
import type { KubeHttp } from '../shared/kube-http.js';
import type { Condition } from './status.js';

/**
 * PolicyServer `status.conditions` in Kubewarden's vocabulary (kubewarden.md §3.4): one
 * condition per part of the reconcile, reason `ReconciliationSucceeded` or
 * `ReconciliationFailed` with the error as message, so `kubectl describe policyserver` says
 * which object could not be written and why.
 */

export const POLICY_SERVER_CONDITION_TYPES = [
  'CARootSecretReconciled',
  'CertSecretReconciled',
  'ConfigMapReconciled',
  'ServiceReconciled',
  'PodDisruptionBudgetReconciled',
  'DeploymentReconciled',
] as const;
export type PolicyServerConditionType = (typeof POLICY_SERVER_CONDITION_TYPES)[number];

/**
 * Which condition reports an object of that kind. Kubewarden has no conditions for the
 * ServiceAccount, Role and RoleBinding: they exist for the pods, so the Deployment's reports them.
 */
export function conditionTypeOf(kind: string | undefined): PolicyServerConditionType {
  switch (kind) {
    case 'Secret':
      return 'CertSecretReconciled';
    case 'ConfigMap':
      return 'ConfigMapReconciled';
    case 'Service':
      return 'ServiceReconciled';
    case 'PodDisruptionBudget':
      return 'PodDisruptionBudgetReconciled';
    default:
      return 'DeploymentReconciled';
  }
}

/** Per condition type: undefined when that part succeeded, else the first error. */
export type ReconcileOutcome = Map<PolicyServerConditionType, string | undefined>;

/** Every type reported, in a fixed order; transition times move only when a status flips. */
export function policyServerConditions(
  outcome: ReconcileOutcome,
  previous: readonly Condition[],
  now: string,
  generation: number | undefined,
): Condition[] {
  return POLICY_SERVER_CONDITION_TYPES.map((type) => {
    const error = outcome.get(type);
    const status = error === undefined ? 'True' : 'False';
    const before = previous.find((c) => c.type === type);
    return {
      type,
      status,
      reason: error === undefined ? 'ReconciliationSucceeded' : 'ReconciliationFailed',
      message: error ?? 'reconciled',
      lastTransitionTime: before?.status === status ? before.lastTransitionTime : now,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  });
}

/** The conditions stored on a PolicyServer as read from the API server. */
export function storedConditions(object: JsonObject): Condition[] {
  const status = object['status'];
  const conditions = isJsonObject(status) ? status['conditions'] : undefined;
  return Array.isArray(conditions) ? (conditions as unknown as Condition[]) : [];
}

/** Writes the conditions unless they are already stored as they are (no write, no event). */
export async function writePolicyServerConditions(
  api: KubeHttp,
  object: JsonObject,
  conditions: readonly Condition[],
): Promise<void> {
  if (
    JSON.stringify(storedConditions(object).map(sorted)) === JSON.stringify(conditions.map(sorted))
  ) {
    return;
  }
  const meta = isJsonObject(object['metadata']) ? object['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : '';
  await api.request(
    'PATCH',
    `/apis/policies.palisade.dev/v1/policyservers/${encodeURIComponent(name)}/status`,
    { status: { conditions: conditions as unknown as JsonObject[] } },
    {
      what: `update the status of PolicyServer ${name}`,
      contentType: 'application/merge-patch+json',
    },
  );
}

/** The API server does not keep our key order: compare with keys sorted. */
function sorted(c: Condition): [string, unknown][] {
  return Object.entries(c).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
