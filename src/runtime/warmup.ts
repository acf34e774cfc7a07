/**
 * The request dummy evaluations use at load: a plain Pod CREATE, the commonest thing a
 * Kubernetes policy sees, so the code paths it warms are the ones real requests take.
 */
export const WARMUP_REQUEST = Object.freeze({
  uid: 'palisade-warm-up',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  requestKind: { group: '', version: 'v1', kind: 'Pod' },
  requestResource: { group: '', version: 'v1', resource: 'pods' },
  name: 'warm-up',
  namespace: 'default',
  operation: 'CREATE',
  userInfo: { username: 'system:palisade:warm-up', groups: ['system:authenticated'] },
  object: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'warm-up', namespace: 'default', labels: { app: 'warm-up' } },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'registry.example/app:1.0',
          securityContext: { privileged: false },
          resources: { limits: { cpu: '100m', memory: '64Mi' } },
        },
      ],
    },
  },
  oldObject: null,
  dryRun: false,
  options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
});
