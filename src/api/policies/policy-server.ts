import { Type, type Static } from '@sinclair/typebox';
import { celRules } from './cel-rules.js';
import {
  EnvVar,
  FreeObject,
  IntOrString,
  ResourceList,
  StringMap,
  Toleration,
} from './kubernetes.js';

/**
 * `PolicyServer.spec`, field for field Kubewarden's (kubewarden.md §3.4): a Deployment of
 * policy servers plus the configuration (sources, verification, capabilities) the operator
 * renders for it. Port defaults are in the schema so the API server fills them in and every
 * reader of the resource sees the same values the operator uses.
 */

const Port = (description: string, defaultPort?: number) =>
  Type.Integer({
    minimum: 1,
    maximum: 65535,
    format: 'int32',
    description,
    ...(defaultPort === undefined ? {} : { default: defaultPort }),
  });

const Names = (description: string) => Type.Array(Type.String(), { description });

export const PolicyServerSpec = Type.Object(
  {
    image: Type.String({ minLength: 1, description: 'Policy server container image.' }),
    replicas: Type.Integer({ minimum: 0, format: 'int32', description: 'Number of replicas.' }),
    minAvailable: Type.Optional(
      IntOrString('PodDisruptionBudget minAvailable (number or percentage).'),
    ),
    maxUnavailable: Type.Optional(
      IntOrString('PodDisruptionBudget maxUnavailable (number or percentage).'),
    ),
    annotations: Type.Optional(StringMap('Annotations added to the Deployment and its pods.')),
    labels: Type.Optional(StringMap('Labels added to the Deployment and its pods.')),
    env: Type.Optional(
      Type.Array(EnvVar, { description: 'Environment variables added to the container.' }),
    ),
    serviceAccountName: Type.Optional(
      Type.String({
        description: 'ServiceAccount of the pods; context-aware policies read as this account.',
      }),
    ),
    imagePullSecret: Type.Optional(
      Type.String({
        description:
          'Secret (type kubernetes.io/dockerconfigjson, in the operator namespace) with ' +
          'registry credentials for pulling policies.',
      }),
    ),
    insecureSources: Type.Optional(
      Names('Registries reached over plain HTTP or with unverified TLS.'),
    ),
    sourceAuthorities: Type.Optional(
      Type.Record(Type.String(), Type.Array(Type.String()), {
        description: 'Registry host[:port] → PEM CA certificates trusted for it.',
      }),
    ),
    verificationConfig: Type.Optional(
      Type.String({
        description:
          'ConfigMap (key verification-config) with the signature verification config; ' +
          'when set, only verified policies load.',
      }),
    ),
    sigstoreTrustConfig: Type.Optional(
      Type.String({
        description: 'ConfigMap (key sigstore-trust-config) with a Sigstore ClientTrustConfig.',
      }),
    ),
    securityContexts: Type.Optional(
      Type.Object(
        {
          container: Type.Optional(FreeObject('corev1.SecurityContext of the container.')),
          pod: Type.Optional(FreeObject('corev1.PodSecurityContext of the pods.')),
        },
        { description: 'Security contexts; restrictive defaults apply when unset.' },
      ),
    ),
    affinity: Type.Optional(FreeObject('corev1.Affinity of the pods.')),
    tolerations: Type.Optional(Type.Array(Toleration, { description: 'Tolerations of the pods.' })),
    priorityClassName: Type.Optional(Type.String({ description: 'PriorityClass of the pods.' })),
    limits: Type.Optional(ResourceList('Resource limits of the container.')),
    requests: Type.Optional(ResourceList('Resource requests of the container.')),
    namespacedPoliciesCapabilities: Type.Optional(
      Names(
        'Host capabilities namespaced policies may call (`*`, `oci/*`, ' +
          '`kubernetes/can_i`…); unset allows all, as in Kubewarden.',
      ),
    ),
    webhookPort: Type.Optional(Port('Port the policy server serves admission requests on.', 8443)),
    readinessProbePort: Type.Optional(Port('Port of the readiness probe.', 8081)),
    metricsPort: Type.Optional(Port('Service port exposing the metrics.')),
  },
  {
    description: 'Desired state of a policy server Deployment.',
    ...celRules(
      {
        rule: '!has(self.minAvailable) || !has(self.maxUnavailable)',
        message: 'minAvailable and maxUnavailable are mutually exclusive',
      },
      {
        rule:
          '!has(self.webhookPort) || !has(self.readinessProbePort) || ' +
          'self.webhookPort != self.readinessProbePort',
        message: 'readinessProbePort must differ from webhookPort',
        fieldPath: '.readinessProbePort',
      },
    ),
  },
);
export type PolicyServerSpec = Static<typeof PolicyServerSpec>;
