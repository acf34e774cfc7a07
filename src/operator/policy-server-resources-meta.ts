import type {
  V1ObjectMeta as ObjectMeta,
  V1OwnerReference as OwnerReference,
} from '@kubernetes/client-node';
import {
  SERVICE_PORT,
  type Plain,
  type PolicyServerContext,
  type PolicyServerInput,
} from './policy-server-resources-spec.js';

/**
 * Names, labels and ownership shared by every object generated for a PolicyServer. Kept in
 * one place because the Deployment selector is immutable: changing a selector label here
 * would strand every existing Deployment.
 */

export const POLICY_SERVER_API_VERSION = 'policies.palisade.dev/v1';
export const POLICY_SERVER_KIND = 'PolicyServer';
/** Label naming the PolicyServer on everything generated for it, and the field manager. */
export const POLICY_SERVER_LABEL = 'policies.palisade.dev/policy-server';
export const FIELD_MANAGER = 'palisade-operator';
/** ConfigMap key holding the policies (Kubewarden's name). */
export const POLICIES_KEY = 'policies.yml';
export const SOURCES_KEY = 'sources.yml';

/** `policy-server-<name>`: the name of every object generated for the PolicyServer. */
export function policyServerObjectName(name: string): string {
  return `policy-server-${name}`;
}

/**
 * Pod selector of the Deployment, Service and PodDisruptionBudget. Immutable once a
 * Deployment exists: never add to it.
 */
export function policyServerSelector(ps: PolicyServerInput): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'palisade-policy-server',
    'app.kubernetes.io/instance': ps.metadata.name,
  };
}

/** Labels of every generated object: the operator's, then ours (ours win). */
export function policyServerLabels(
  ps: PolicyServerInput,
  ctx: PolicyServerContext,
): Record<string, string> {
  return {
    ...ctx.operatorLabels,
    ...policyServerSelector(ps),
    'app.kubernetes.io/component': 'policy-server',
    'app.kubernetes.io/part-of': 'palisade',
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
    [POLICY_SERVER_LABEL]: ps.metadata.name,
  };
}

/**
 * The PolicyServer as controller owner. A cluster-scoped owner of namespaced dependents is
 * allowed, so deleting the PolicyServer garbage-collects everything generated for it.
 */
export function policyServerOwnerReference(ps: PolicyServerInput): Plain<OwnerReference> {
  return {
    apiVersion: POLICY_SERVER_API_VERSION,
    kind: POLICY_SERVER_KIND,
    name: ps.metadata.name,
    uid: ps.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of a generated object: name, namespace, labels, owner. */
export function policyServerMetadata(
  ps: PolicyServerInput,
  ctx: PolicyServerContext,
  extraLabels: Readonly<Record<string, string>> = {},
): Plain<ObjectMeta> {
  return {
    name: policyServerObjectName(ps.metadata.name),
    namespace: ctx.namespace,
    labels: { ...extraLabels, ...policyServerLabels(ps, ctx) },
    ownerReferences: [policyServerOwnerReference(ps)],
  };
}

/**
 * The SANs the serving certificate needs. The API server calls `<service>.<ns>.svc`; the
 * shorter and the fully qualified forms serve in-cluster clients such as an audit scanner.
 */
export function policyServerDnsNames(ps: PolicyServerInput, namespace: string): string[] {
  const service = policyServerObjectName(ps.metadata.name);
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

/** The `clientConfig.service` of a webhook served by this PolicyServer (path added by the caller). */
export function policyServerServiceReference(
  ps: PolicyServerInput,
  namespace: string,
): { namespace: string; name: string; port: number } {
  return { namespace, name: policyServerObjectName(ps.metadata.name), port: SERVICE_PORT };
}
