import type { LabelSelector } from '../api/policies/v1.js';
import { isManifest, policyId } from '../engine/manifest.js';
import type { JsonObject, JsonValue } from '../shared/admission.js';
import { PalisadeError } from '../shared/errors.js';

export type PolicyKind =
  | 'ClusterAdmissionPolicy'
  | 'AdmissionPolicy'
  | 'ClusterAdmissionPolicyGroup'
  | 'AdmissionPolicyGroup';

/** A policy resource as the API server returns it. */
export interface PolicyResource {
  readonly apiVersion: string;
  readonly kind: PolicyKind;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly generation?: number;
    readonly resourceVersion?: string;
  };
  readonly spec: JsonObject;
}

/** How the API server reaches policy servers: a Service in the cluster, a URL in dev mode. */
export type WebhookTarget =
  | { readonly kind: 'service'; readonly namespace: string; readonly port?: number }
  | { readonly kind: 'url'; readonly baseUrl: string };

export interface WebhookContext {
  /** Palisade's own namespace: cluster-wide policies never see requests in it (unless asked). */
  readonly operatorNamespace: string;
  readonly target: WebhookTarget;
  /** PEM of the CA that signed the policy servers' serving certificates. */
  readonly caBundle: string;
}

export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_POLICY_SERVER = 'policies.palisade.dev/policy-server';
export const ANNOTATION_POLICY_NAME = 'policies.palisade.dev/policy-name';
export const ANNOTATION_POLICY_NAMESPACE = 'policies.palisade.dev/policy-namespace';
const NAMESPACE_LABEL = 'kubernetes.io/metadata.name';

export function isPolicyResource(doc: JsonValue): doc is JsonObject & PolicyResource {
  return isManifest(doc);
}

export function isClusterWide(kind: PolicyKind): boolean {
  return kind === 'ClusterAdmissionPolicy' || kind === 'ClusterAdmissionPolicyGroup';
}

export function isGroup(kind: PolicyKind): boolean {
  return kind === 'ClusterAdmissionPolicyGroup' || kind === 'AdmissionPolicyGroup';
}

/** Kubewarden's unique name: webhook configuration name, URL path, policies.yml key. */
export function uniqueName(policy: PolicyResource): string {
  return policyId(policy.kind, policy.metadata.name, policy.metadata.namespace ?? '');
}

export function policyServerOf(policy: PolicyResource): string {
  const name = policy.spec['policyServer'];
  return typeof name === 'string' && name !== '' ? name : 'default';
}

/** Groups always validate; a policy mutates only when it says so. */
export function isMutating(policy: PolicyResource): boolean {
  return !isGroup(policy.kind) && policy.spec['mutating'] === true;
}

function selector(value: JsonValue | undefined): LabelSelector {
  // The API server validated it against the CRD schema.
  const out: LabelSelector =
    typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
  return out;
}

/**
 * The namespaces a policy's webhook sees. Cluster-wide policies keep the user's selector,
 * matchLabels included (Kubewarden drops them when it adds its own namespace's exclusion: a
 * bug not copied), plus the exclusion unless `allowInsideAdmissionControllerNamespace`.
 * Namespaced policies see only their namespace, whatever they ask.
 */
export function namespaceSelectorOf(policy: PolicyResource, operatorNamespace: string) {
  if (!isClusterWide(policy.kind)) {
    return { matchLabels: { [NAMESPACE_LABEL]: policy.metadata.namespace ?? 'default' } };
  }
  const user = selector(policy.spec['namespaceSelector']);
  if (policy.spec['allowInsideAdmissionControllerNamespace'] === true) return user;
  return {
    ...(user.matchLabels !== undefined ? { matchLabels: user.matchLabels } : {}),
    matchExpressions: [
      { key: NAMESPACE_LABEL, operator: 'NotIn', values: [operatorNamespace] },
      ...(user.matchExpressions ?? []),
    ],
  };
}

function rulesOf(policy: PolicyResource): JsonValue[] {
  const rules = policy.spec['rules'];
  if (!Array.isArray(rules) || rules.length === 0) {
    throw new PalisadeError('manifest_invalid', `${uniqueName(policy)}: spec.rules is empty`);
  }
  // Namespaced policies cannot reach cluster-scoped objects, as in Kubewarden.
  return isClusterWide(policy.kind)
    ? rules
    : rules.map((r) => ({ ...(r as JsonObject), scope: 'Namespaced' }));
}

function clientConfig(id: string, policyServer: string, context: WebhookContext): JsonObject {
  const path = `/validate/${id}`;
  const caBundle = Buffer.from(context.caBundle).toString('base64');
  if (context.target.kind === 'url') {
    return { url: `${context.target.baseUrl.replace(/\/$/, '')}${path}`, caBundle };
  }
  return {
    service: {
      namespace: context.target.namespace,
      name: `policy-server-${policyServer}`,
      path,
      port: context.target.port ?? 443,
    },
    caBundle,
  };
}

/** Copies the optional webhook fields the user set, field for field. */
function passThrough(spec: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of ['failurePolicy', 'matchPolicy', 'objectSelector', 'matchConditions']) {
    const value = spec[key];
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/**
 * The admission webhook configuration that makes the API server send a policy's requests to
 * its policy server: one configuration per policy, named by its unique name, as Kubewarden does,
 * so `kubectl get validatingwebhookconfigurations` lists policies one to one.
 */
export function webhookConfiguration(policy: PolicyResource, context: WebhookContext): JsonObject {
  const id = uniqueName(policy);
  const policyServer = policyServerOf(policy);
  const spec = policy.spec;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: isMutating(policy) ? 'MutatingWebhookConfiguration' : 'ValidatingWebhookConfiguration',
    metadata: {
      name: id,
      labels: { [LABEL_PART_OF]: 'palisade', [LABEL_POLICY_SERVER]: policyServer },
      annotations: {
        [ANNOTATION_POLICY_NAME]: policy.metadata.name,
        [ANNOTATION_POLICY_NAMESPACE]: policy.metadata.namespace ?? '',
      },
    },
    webhooks: [
      {
        name: `${id}.palisade.admission`,
        clientConfig: clientConfig(id, policyServer, context),
        rules: rulesOf(policy),
        ...passThrough(spec),
        namespaceSelector: namespaceSelectorOf(policy, context.operatorNamespace) as JsonObject,
        sideEffects: typeof spec['sideEffects'] === 'string' ? spec['sideEffects'] : 'None',
        timeoutSeconds: typeof spec['timeoutSeconds'] === 'number' ? spec['timeoutSeconds'] : 10,
        admissionReviewVersions: ['v1'],
      },
    ],
  };
}
