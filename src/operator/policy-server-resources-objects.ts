import type {
  V1ConfigMap,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import {
  POLICIES_KEY,
  SOURCES_KEY,
  policyServerMetadata,
  policyServerObjectName,
  policyServerSelector,
} from './policy-server-resources-meta.js';
import { policyServerSourcesYaml } from './policy-server-resources-sources.js';
import {
  DEFAULT_WEBHOOK_PORT,
  SERVICE_PORT,
  validatePolicyServer,
  type PolicyServerContext,
  type PolicyServerInput,
  type Plain,
} from './policy-server-resources-spec.js';

/**
 * Every object of a PolicyServer but the Deployment. Each builder is pure and validates the
 * PolicyServer itself, so it can be used alone (the controller re-applies the ConfigMap on
 * every policy change, and nothing else).
 */

/** ClusterIP Service: 443 → the webhook port (what webhook configurations call). */
export function policyServerService(
  ps: PolicyServerInput,
  ctx: PolicyServerContext,
): Plain<V1Service> {
  validatePolicyServer(ps);
  const ports: NonNullable<Plain<V1Service>['spec']>['ports'] = [
    { name: 'policy-server', port: SERVICE_PORT, targetPort: 'https', protocol: 'TCP' },
  ];
  // /metrics is served by the same HTTPS listener; a second port only gives scrapers a name.
  if (ps.spec.metricsPort !== undefined) {
    ports.push({
      name: 'metrics',
      port: ps.spec.metricsPort,
      targetPort: 'https',
      protocol: 'TCP',
    });
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: policyServerMetadata(ps, ctx),
    spec: { type: 'ClusterIP', selector: policyServerSelector(ps), ports },
  };
}

/** The pods' own account, or undefined when `spec.serviceAccountName` names the user's. */
export function policyServerServiceAccount(
  ps: PolicyServerInput,
  ctx: PolicyServerContext,
): Plain<V1ServiceAccount> | undefined {
  validatePolicyServer(ps);
  if (ps.spec.serviceAccountName) return undefined;
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: policyServerMetadata(ps, ctx) };
}

/**
 * Read access to the one ConfigMap the server watches. `resourceNames` restricts list and
 * watch too, provided the request carries `fieldSelector=metadata.name=<name>`: the
 * `--policies-configmap` watcher must send it.
 */
export function policyServerRole(ps: PolicyServerInput, ctx: PolicyServerContext): Plain<V1Role> {
  validatePolicyServer(ps);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: policyServerMetadata(ps, ctx),
    rules: [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [policyServerObjectName(ps.metadata.name)],
        verbs: ['get', 'list', 'watch'],
      },
    ],
  };
}

/** Binds the Role to the pods' account: ours, or the user's (which keeps its own grants). */
export function policyServerRoleBinding(
  ps: PolicyServerInput,
  ctx: PolicyServerContext,
): Plain<V1RoleBinding> {
  validatePolicyServer(ps);
  const name = policyServerObjectName(ps.metadata.name);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: policyServerMetadata(ps, ctx),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [
      {
        kind: 'ServiceAccount',
        name: ps.spec.serviceAccountName || name,
        namespace: ctx.namespace,
      },
    ],
  };
}

/**
 * The serving pair and the CA, as a `kubernetes.io/tls` Secret. `data`, not `stringData`:
 * server-side apply of write-only `stringData` never converges.
 */
export function policyServerTlsSecret(
  ps: PolicyServerInput,
  ctx: PolicyServerContext,
): Plain<V1Secret> {
  validatePolicyServer(ps);
  const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: policyServerMetadata(ps, ctx),
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': b64(ctx.servingCertPem),
      'tls.key': b64(ctx.servingKeyPem),
      'ca.crt': b64(ctx.caBundle),
    },
  };
}

/**
 * The ConfigMap the server watches: `policies.yml` as rendered by the controller, plus
 * `sources.yml` when the PolicyServer has insecure sources or source authorities.
 */
export function policiesConfigMap(
  ps: PolicyServerInput,
  ctx: PolicyServerContext,
  policiesYaml: string,
): Plain<V1ConfigMap> {
  validatePolicyServer(ps);
  const sources = policyServerSourcesYaml(ps);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: policyServerMetadata(ps, ctx),
    data: {
      [POLICIES_KEY]: policiesYaml,
      ...(sources === undefined ? {} : { [SOURCES_KEY]: sources }),
    },
  };
}

/**
 * A PodDisruptionBudget when `spec.minAvailable` or `spec.maxUnavailable` is set, else
 * undefined. `AlwaysAllow` lets a node drain evict pods that are not ready anyway (a crash
 * loop must not block maintenance).
 */
export function policyServerPodDisruptionBudget(
  ps: PolicyServerInput,
  ctx: PolicyServerContext,
): Plain<V1PodDisruptionBudget> | undefined {
  validatePolicyServer(ps);
  const { minAvailable, maxUnavailable } = ps.spec;
  if (minAvailable === undefined && maxUnavailable === undefined) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: policyServerMetadata(ps, ctx),
    spec: {
      selector: { matchLabels: policyServerSelector(ps) },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
      ...(minAvailable === undefined ? {} : { minAvailable }),
      ...(maxUnavailable === undefined ? {} : { maxUnavailable }),
    },
  };
}

/** The webhook port the container listens on (Kubewarden's default 8443). */
export function policyServerWebhookPort(ps: PolicyServerInput): number {
  return ps.spec.webhookPort ?? DEFAULT_WEBHOOK_PORT;
}
