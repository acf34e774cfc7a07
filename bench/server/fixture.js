/**
 * The benchmark's AdmissionReview: a Deployment CREATE of about 4.5 KB, as the
 * replicaset/deployment controllers and kubectl produce them (labels, annotations,
 * managedFields, a pod template with an app container and a sidecar, env from secrets,
 * probes, volumes, tolerations). Same size class as perf.md's Pod fixture, but a
 * Deployment so that the replica policy has `spec.replicas` to check.
 */
export function deploymentReview(replicas = 3) {
  const labels = {
    app: 'checkout',
    'app.kubernetes.io/name': 'checkout',
    'app.kubernetes.io/instance': 'checkout-prod',
    'app.kubernetes.io/version': '2.14.1',
    'app.kubernetes.io/component': 'api',
    team: 'payments',
  };
  const container = (name, image, port) => ({
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      {
        name: 'DB_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'checkout-db', key: 'password' } },
      },
    ],
    resources: {
      requests: { cpu: '250m', memory: '256Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port, scheme: 'HTTP' },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 1,
      failureThreshold: 3,
    },
    readinessProbe: {
      httpGet: { path: '/ready', port, scheme: 'HTTP' },
      periodSeconds: 5,
      timeoutSeconds: 1,
      failureThreshold: 3,
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/checkout', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  });
  const object = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'checkout',
      namespace: 'shop',
      uid: '6f1c2a3e-8b1d-4c55-9d9e-2b0f7a1c3d44',
      generation: 1,
      creationTimestamp: '2026-11-21T10:00:00Z',
      labels,
      annotations: {
        'deployment.kubernetes.io/revision': '1',
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
      },
      ownerReferences: [
        {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          name: 'shop',
          uid: '0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d',
          controller: false,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'argocd-controller',
          operation: 'Apply',
          apiVersion: 'apps/v1',
          time: '2026-11-21T10:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:labels': { 'f:app': {}, 'f:team': {} } },
            'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': {} } } },
          },
        },
      ],
    },
    spec: {
      replicas,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'checkout' } },
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      },
      template: {
        metadata: { labels, annotations: { 'sidecar.istio.io/inject': 'false' } },
        spec: {
          serviceAccountName: 'checkout',
          automountServiceAccountToken: false,
          securityContext: {
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            container('checkout', 'registry.example.com/shop/checkout:2.14.1', 8080),
            container('envoy', 'registry.example.com/mesh/envoy:v1.31.2', 15001),
          ],
          volumes: [
            { name: 'config', configMap: { name: 'checkout-config', defaultMode: 420 } },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
          ],
          tolerations: [
            {
              key: 'node.kubernetes.io/not-ready',
              operator: 'Exists',
              effect: 'NoExecute',
              tolerationSeconds: 300,
            },
            {
              key: 'node.kubernetes.io/unreachable',
              operator: 'Exists',
              effect: 'NoExecute',
              tolerationSeconds: 300,
            },
          ],
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
        },
      },
    },
  };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'checkout',
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:argocd:argocd-application-controller',
        uid: 'c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'],
      },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/**
 * The replica policy of the brief, in Kubewarden's policies.yml format, and a constant
 * policy that reads no binding: the same server answering through it isolates the cost of
 * the server from the cost of the policy.
 */
export const POLICIES_YML = `constant:
  module: builtin://cel
  settings:
    validations:
      - expression: "1 == 1"
replicas:
  module: builtin://cel
  settings:
    variables:
      - {name: replicas, expression: object.spec.replicas}
      - {name: maxreplicas, expression: int(5)}
    validations:
      - expression: variables.replicas <= variables.maxreplicas
        messageExpression: "'the number of replicas must be less than or equal to ' + string(variables.maxreplicas)"
`;
