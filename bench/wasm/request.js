// The bench request: a Pod CREATE of about 4 KB with two containers, accepted by pod-guard.
export function podRequest() {
  const container = (name) => ({
    name,
    image: `registry.example.com/team/${name}:1.4.2`,
    imagePullPolicy: 'IfNotPresent',
    args: ['--listen=:8080', '--log-level=info', '--metrics=:9090'],
    env: Array.from({ length: 8 }, (_, i) => ({
      name: `${name.toUpperCase()}_SETTING_${i}`,
      value: `value-${i}-${'x'.repeat(24)}`,
    })),
    ports: [
      { containerPort: 8080, name: 'http', protocol: 'TCP' },
      { containerPort: 9090, name: 'metrics', protocol: 'TCP' },
    ],
    resources: {
      limits: { cpu: '500m', memory: '256Mi' },
      requests: { cpu: '100m', memory: '128Mi' },
    },
    securityContext: {
      privileged: false,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
    readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 5 },
    volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }],
  });
  return {
    uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    requestKind: { group: '', version: 'v1', kind: 'Pod' },
    requestResource: { group: '', version: 'v1', resource: 'pods' },
    name: 'web-7d4b9c',
    namespace: 'shop',
    operation: 'CREATE',
    userInfo: {
      username: 'system:serviceaccount:kube-system:replicaset-controller',
      uid: 'a7d3c1e2',
      groups: [
        'system:serviceaccounts',
        'system:serviceaccounts:kube-system',
        'system:authenticated',
      ],
    },
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-7d4b9c',
        namespace: 'shop',
        labels: { app: 'web', tier: 'frontend', 'pod-template-hash': '7d4b9c' },
        annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'web-7d4b9c',
            uid: '4a1f',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        containers: [container('web'), container('sidecar')],
        volumes: [{ name: 'config', configMap: { name: 'web-config' } }],
        serviceAccountName: 'web',
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [
          {
            key: 'node.kubernetes.io/not-ready',
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds: 300,
          },
        ],
      },
    },
    oldObject: null,
    dryRun: false,
    options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
  };
}
