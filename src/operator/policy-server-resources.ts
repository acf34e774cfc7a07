import type {
  V1ConfigMap,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { policyServerDeployment } from './policy-server-resources-deployment.js';
import { policyServerObjectName } from './policy-server-resources-meta.js';
import {
  policiesConfigMap,
  policyServerPodDisruptionBudget,
  policyServerRole,
  policyServerRoleBinding,
  policyServerService,
  policyServerServiceAccount,
  policyServerTlsSecret,
} from './policy-server-resources-objects.js';
import {
  validatePolicyServer,
  type PolicyServerContext,
  type PolicyServerInput,
  type Plain,
} from './policy-server-resources-spec.js';

/**
 * Everything a PolicyServer becomes, as pure data for server-side apply (field manager
 * `palisade-operator`): the desired objects, and the optional ones a previous spec may have
 * created that this one no longer wants. Apply replaces Kubewarden's bookkeeping of
 * "managed" label and annotation keys: a field the operator stops sending is removed by the
 * API server because the operator's field manager owned it.
 */

export * from './policy-server-resources-deployment.js';
export * from './policy-server-resources-meta.js';
export * from './policy-server-resources-objects.js';
export * from './policy-server-resources-sources.js';
export * from './policy-server-resources-spec.js';

/** Enough to find and delete an object. */
export interface ObjectReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export interface PolicyServerResources {
  readonly serviceAccount?: Plain<V1ServiceAccount>;
  readonly role: Plain<V1Role>;
  readonly roleBinding: Plain<V1RoleBinding>;
  readonly secret: Plain<V1Secret>;
  readonly configMap: Plain<V1ConfigMap>;
  readonly service: Plain<V1Service>;
  readonly podDisruptionBudget?: Plain<V1PodDisruptionBudget>;
  readonly deployment: Plain<V1Deployment>;
  /** Objects of ours this spec does not want (e.g. the PDB once both fields are unset). */
  readonly unwanted: readonly ObjectReference[];
}

/** The desired objects; throws `config_invalid` naming the PolicyServer and the fields. */
export function policyServerResources(
  ps: PolicyServerInput,
  ctx: PolicyServerContext,
  policiesYaml: string,
): PolicyServerResources {
  validatePolicyServer(ps);
  const serviceAccount = policyServerServiceAccount(ps, ctx);
  const podDisruptionBudget = policyServerPodDisruptionBudget(ps, ctx);
  const ref = (apiVersion: string, kind: string): ObjectReference => ({
    apiVersion,
    kind,
    namespace: ctx.namespace,
    name: policyServerObjectName(ps.metadata.name),
  });
  const unwanted: ObjectReference[] = [];
  if (!serviceAccount) unwanted.push(ref('v1', 'ServiceAccount'));
  if (!podDisruptionBudget) unwanted.push(ref('policy/v1', 'PodDisruptionBudget'));
  return {
    ...(serviceAccount ? { serviceAccount } : {}),
    role: policyServerRole(ps, ctx),
    roleBinding: policyServerRoleBinding(ps, ctx),
    secret: policyServerTlsSecret(ps, ctx),
    configMap: policiesConfigMap(ps, ctx, policiesYaml),
    service: policyServerService(ps, ctx),
    ...(podDisruptionBudget ? { podDisruptionBudget } : {}),
    deployment: policyServerDeployment(ps, ctx),
    unwanted,
  };
}

/**
 * The objects in apply order: the account and its permissions, the Secret and ConfigMap the
 * pods mount, then the Service and PDB, the Deployment last so its first pods find all.
 */
export function applyOrder(resources: PolicyServerResources): readonly AppliedObject[] {
  const r = resources;
  return [
    r.serviceAccount,
    r.role,
    r.roleBinding,
    r.secret,
    r.configMap,
    r.service,
    r.podDisruptionBudget,
    r.deployment,
  ].filter((o) => o !== undefined);
}

export type AppliedObject =
  | Plain<V1ServiceAccount>
  | Plain<V1Role>
  | Plain<V1RoleBinding>
  | Plain<V1Secret>
  | Plain<V1ConfigMap>
  | Plain<V1Service>
  | Plain<V1PodDisruptionBudget>
  | Plain<V1Deployment>;
