import { createHash } from 'node:crypto';
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1PodSecurityContext,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import {
  SOURCES_KEY,
  policyServerLabels,
  policyServerMetadata,
  policyServerObjectName,
  policyServerSelector,
} from './policy-server-resources-meta.js';
import {
  DEFAULT_WEBHOOK_PORT,
  validatePolicyServer,
  type PolicyServerContext,
  type PolicyServerInput,
  type Plain,
} from './policy-server-resources-spec.js';
import { policyServerSourcesYaml } from './policy-server-resources-sources.js';

/**
 * The policy server Deployment. Palisade's difference from Kubewarden: nothing in it depends
 * on the policy set. The server watches its ConfigMap through the API, so a policy change
 * never rolls the pods (Kubewarden stamps the ConfigMap's resourceVersion on the template).
 * Only what the process reads at start-up is hashed into the template: the TLS pair (a
 * certificate rotation rolls the pods) and sources.yml.
 */

/** Pod-template annotation: SHA-256 of the serving certificate and key. */
export const TLS_HASH_ANNOTATION = 'policies.palisade.dev/tls-sha256';
/** Pod-template annotation: SHA-256 of sources.yml, when there is one. */
export const SOURCES_HASH_ANNOTATION = 'policies.palisade.dev/sources-sha256';
export const CONTAINER_NAME = 'policy-server';
/**
 * kubelet keeps routing traffic for a few seconds after SIGTERM (EndpointSlice and
 * kube-proxy lag), and the server stops accepting as soon as it is signalled: the preStop
 * sleep keeps it serving meanwhile (k8s-infra.md §6). Needs Kubernetes ≥ 1.30 (sleep action).
 */
export const PRE_STOP_SLEEP_SECONDS = 5;
/** preStop sleep + the server's drain budget (10 s) + the longest webhook timeout (30 s). */
export const TERMINATION_GRACE_PERIOD_SECONDS = 45;

const PKI_DIR = '/pki';
const TMP_DIR = '/tmp';
const SOURCES_DIR = '/sources';
const VERIFICATION_DIR = '/verification';
const VERIFICATION_KEY = 'verification-config';
const DOCKER_CONFIG_DIR = '/docker-config';

/** Builds the Deployment; throws `config_invalid` (see `validatePolicyServer`). */
export function policyServerDeployment(
  ps: PolicyServerInput,
  ctx: PolicyServerContext,
): Plain<V1Deployment> {
  validatePolicyServer(ps);
  const { spec } = ps;
  const sourcesYaml = policyServerSourcesYaml(ps);
  const name = policyServerObjectName(ps.metadata.name);
  const labels = { ...spec.labels, ...policyServerLabels(ps, ctx) };
  const templateAnnotations: Record<string, string> = {
    ...spec.annotations,
    [TLS_HASH_ANNOTATION]: sha256(ctx.servingCertPem, ctx.servingKeyPem),
  };
  if (sourcesYaml !== undefined) templateAnnotations[SOURCES_HASH_ANNOTATION] = sha256(sourcesYaml);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      ...policyServerMetadata(ps, ctx, spec.labels),
      ...(spec.annotations ? { annotations: { ...spec.annotations } } : {}),
    },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: policyServerSelector(ps) },
      // Never below the wanted capacity while rolling: admission depends on these pods.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: { labels, annotations: templateAnnotations },
        spec: {
          serviceAccountName: spec.serviceAccountName || name,
          // The server reads its ConfigMap through the API, whatever the account's default.
          automountServiceAccountToken: true,
          securityContext: spec.securityContexts?.pod ?? defaultPodSecurityContext(),
          containers: [container(ps, ctx, sourcesYaml !== undefined)],
          volumes: volumes(ps, sourcesYaml !== undefined),
          terminationGracePeriodSeconds: TERMINATION_GRACE_PERIOD_SECONDS,
          ...(spec.affinity ? { affinity: spec.affinity } : {}),
          ...(spec.tolerations ? { tolerations: [...spec.tolerations] } : {}),
          ...(spec.priorityClassName ? { priorityClassName: spec.priorityClassName } : {}),
          ...(ctx.imagePullSecrets?.length
            ? { imagePullSecrets: ctx.imagePullSecrets.map((n) => ({ name: n })) }
            : {}),
        },
      },
    },
  };
}

/** The `serve` command line: flags of src/bin/palisade.ts, paths of the volumes below. */
export function policyServerArgs(
  ps: PolicyServerInput,
  namespace: string,
  withSources: boolean,
): string[] {
  const { spec } = ps;
  const args = [
    'serve',
    '--policies-configmap',
    `${namespace}/${policyServerObjectName(ps.metadata.name)}`,
    '--cert-file',
    `${PKI_DIR}/tls.crt`,
    '--key-file',
    `${PKI_DIR}/tls.key`,
    '--port',
    String(spec.webhookPort ?? DEFAULT_WEBHOOK_PORT),
    '--addr',
    '0.0.0.0',
    '--log-fmt',
    'json',
    '--policies-download-dir',
    `${TMP_DIR}/palisade/store`,
  ];
  if (withSources) args.push('--sources-path', `${SOURCES_DIR}/${SOURCES_KEY}`);
  if (spec.verificationConfig) {
    args.push('--verification-path', `${VERIFICATION_DIR}/${VERIFICATION_KEY}`);
  }
  if (spec.imagePullSecret) {
    args.push('--docker-config-json-path', `${DOCKER_CONFIG_DIR}/config.json`);
  }
  return args;
}

function container(ps: PolicyServerInput, ctx: PolicyServerContext, withSources: boolean) {
  const { spec } = ps;
  const mounts: Plain<V1VolumeMount>[] = [
    { name: 'pki', mountPath: PKI_DIR, readOnly: true },
    { name: 'tmp', mountPath: TMP_DIR },
  ];
  if (withSources) mounts.push({ name: 'sources', mountPath: SOURCES_DIR, readOnly: true });
  if (spec.verificationConfig) {
    mounts.push({ name: 'verification', mountPath: VERIFICATION_DIR, readOnly: true });
  }
  if (spec.imagePullSecret) {
    mounts.push({ name: 'docker-config', mountPath: DOCKER_CONFIG_DIR, readOnly: true });
  }
  const resources = {
    ...(spec.limits ? { limits: { ...spec.limits } } : {}),
    ...(spec.requests ? { requests: { ...spec.requests } } : {}),
  };
  const result: Plain<V1Container> = {
    name: CONTAINER_NAME,
    image: spec.image || ctx.defaultImage,
    args: policyServerArgs(ps, ctx.namespace, withSources),
    ports: [
      { name: 'https', containerPort: spec.webhookPort ?? DEFAULT_WEBHOOK_PORT, protocol: 'TCP' },
    ],
    env: env(spec.env ?? []),
    // Readiness is served on the webhook port, over the same TLS; kubelet does not verify it.
    readinessProbe: {
      httpGet: { path: '/readiness', port: 'https', scheme: 'HTTPS' },
      periodSeconds: 5,
      failureThreshold: 3,
    },
    lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SLEEP_SECONDS } } },
    volumeMounts: mounts,
    securityContext: spec.securityContexts?.container ?? defaultContainerSecurityContext(),
    // ResourceList values are quantities; client-node types them as strings only.
    ...(Object.keys(resources).length > 0
      ? { resources: resources as NonNullable<Plain<V1Container>['resources']> }
      : {}),
  };
  return result;
}

/** Ours first; a user variable of the same name replaces ours in place. */
function env(user: readonly Plain<V1EnvVar>[]): Plain<V1EnvVar>[] {
  const ours: Plain<V1EnvVar>[] = [
    // Compiled-module cache: the root filesystem is read-only, /tmp is the emptyDir.
    { name: 'PALISADE_CACHE_DIR', value: `${TMP_DIR}/palisade` },
  ];
  const byName = new Map(user.map((v) => [v.name, v]));
  const merged = ours.map((v) => byName.get(v.name) ?? v);
  return [...merged, ...user.filter((v) => !ours.some((o) => o.name === v.name))];
}

function volumes(ps: PolicyServerInput, withSources: boolean): Plain<V1Volume>[] {
  const { spec } = ps;
  const name = policyServerObjectName(ps.metadata.name);
  const result: Plain<V1Volume>[] = [
    {
      name: 'pki',
      secret: {
        secretName: name,
        items: [
          { key: 'tls.crt', path: 'tls.crt' },
          { key: 'tls.key', path: 'tls.key' },
        ],
      },
    },
    // Module store and compiled-module cache; lost with the pod, refilled from registries.
    { name: 'tmp', emptyDir: {} },
  ];
  if (withSources) {
    result.push({
      name: 'sources',
      configMap: { name, items: [{ key: SOURCES_KEY, path: SOURCES_KEY }] },
    });
  }
  if (spec.verificationConfig) {
    result.push({
      name: 'verification',
      configMap: {
        name: spec.verificationConfig,
        items: [{ key: VERIFICATION_KEY, path: VERIFICATION_KEY }],
      },
    });
  }
  if (spec.imagePullSecret) {
    result.push({
      name: 'docker-config',
      secret: {
        secretName: spec.imagePullSecret,
        items: [{ key: '.dockerconfigjson', path: 'config.json' }],
      },
    });
  }
  return result;
}

/** Kubewarden's defaults, used when `spec.securityContexts.pod` is unset. */
export function defaultPodSecurityContext(): Plain<V1PodSecurityContext> {
  return { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
}

/** Kubewarden's defaults, used when `spec.securityContexts.container` is unset. */
export function defaultContainerSecurityContext(): Plain<V1SecurityContext> {
  return {
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    privileged: false,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function sha256(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}
