import { describe, expect, it } from 'vitest';
import { parseSources } from '../oci/sources.js';
import {
  applyOrder,
  policiesConfigMap,
  policyServerDnsNames,
  policyServerPodDisruptionBudget,
  policyServerResources,
  policyServerRole,
  policyServerRoleBinding,
  policyServerService,
  policyServerServiceAccount,
  policyServerServiceReference,
  policyServerTlsSecret,
} from './policy-server-resources.js';
import { CA_PEM, META, ctx, server } from './policy-server-resources.testdata.js';

describe('the other objects', () => {
  it('Service: 443 to the webhook port, plus a metrics port when asked', () => {
    const s = policyServerService(server(), ctx);
    expect(s).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: META,
      spec: {
        type: 'ClusterIP',
        selector: {
          'app.kubernetes.io/name': 'palisade-policy-server',
          'app.kubernetes.io/instance': 'default',
        },
        ports: [{ name: 'policy-server', port: 443, targetPort: 'https', protocol: 'TCP' }],
      },
    });
    expect(policyServerService(server({ metricsPort: 8080 }), ctx).spec?.ports?.[1]).toEqual({
      name: 'metrics',
      port: 8080,
      targetPort: 'https',
      protocol: 'TCP',
    });
  });

  it('ServiceAccount unless the spec names one; the Role reads only the one ConfigMap', () => {
    expect(policyServerServiceAccount(server(), ctx)).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: META,
    });
    expect(policyServerServiceAccount(server({ serviceAccountName: 'mine' }), ctx)).toBeUndefined();
    expect(policyServerRole(server(), ctx)).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: META,
      rules: [
        {
          apiGroups: [''],
          resources: ['configmaps'],
          resourceNames: ['policy-server-default'],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    });
    const binding = policyServerRoleBinding(server(), ctx);
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'policy-server-default',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'policy-server-default', namespace: 'palisade-system' },
    ]);
    expect(policyServerRoleBinding(server({ serviceAccountName: 'mine' }), ctx).subjects).toEqual([
      { kind: 'ServiceAccount', name: 'mine', namespace: 'palisade-system' },
    ]);
  });

  it('Secret: kubernetes.io/tls with the serving pair and the CA, base64 in data', () => {
    const s = policyServerTlsSecret(server(), ctx);
    expect(s.metadata).toEqual(META);
    expect(s.type).toBe('kubernetes.io/tls');
    expect(s).not.toHaveProperty('stringData');
    const decoded = Object.fromEntries(
      Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    expect(decoded).toEqual({ 'tls.crt': 'CERT', 'tls.key': 'KEY', 'ca.crt': CA_PEM });
  });

  it('ConfigMap: policies.yml, and sources.yml in the shape the policy server reads', async () => {
    expect(policiesConfigMap(server(), ctx, 'p: {}')).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: META,
      data: { 'policies.yml': 'p: {}' },
    });
    const cm = policiesConfigMap(
      server({
        insecureSources: ['registry.local:5000'],
        sourceAuthorities: { 'ghcr.local': [CA_PEM] },
      }),
      ctx,
      'p: {}',
    );
    const sources = cm.data?.['sources.yml'] ?? '';
    expect(JSON.parse(sources)).toEqual({
      insecure_sources: ['registry.local:5000'],
      source_authorities: { 'ghcr.local': [{ type: 'Data', data: CA_PEM }] },
    });
    expect(await parseSources(sources, '/sources/sources.yml')).toEqual({
      insecure: ['registry.local:5000'],
      authorities: { 'ghcr.local': [CA_PEM] },
    });
  });

  it('PodDisruptionBudget only when minAvailable or maxUnavailable is set', () => {
    expect(policyServerPodDisruptionBudget(server(), ctx)).toBeUndefined();
    expect(policyServerPodDisruptionBudget(server({ minAvailable: 1 }), ctx)).toEqual({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: META,
      spec: {
        selector: {
          matchLabels: {
            'app.kubernetes.io/name': 'palisade-policy-server',
            'app.kubernetes.io/instance': 'default',
          },
        },
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
        minAvailable: 1,
      },
    });
    expect(policyServerPodDisruptionBudget(server({ maxUnavailable: '50%' }), ctx)?.spec).toEqual(
      expect.objectContaining({ maxUnavailable: '50%' }) as unknown,
    );
  });
});

describe('policyServerResources', () => {
  it('lists objects in apply order and the optional ones to delete', () => {
    const all = policyServerResources(server(), ctx, 'p: {}');
    expect(applyOrder(all).map((o) => o.kind)).toEqual([
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'Secret',
      'ConfigMap',
      'Service',
      'Deployment',
    ]);
    expect(all.unwanted).toEqual([
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        namespace: 'palisade-system',
        name: 'policy-server-default',
      },
    ]);
    const custom = policyServerResources(
      server({ serviceAccountName: 'mine', maxUnavailable: 1 }),
      ctx,
      '',
    );
    expect(applyOrder(custom).map((o) => o.kind)).toEqual([
      'Role',
      'RoleBinding',
      'Secret',
      'ConfigMap',
      'Service',
      'PodDisruptionBudget',
      'Deployment',
    ]);
    expect(custom.unwanted.map((r) => r.kind)).toEqual(['ServiceAccount']);
  });

  it('names the Service the way the certificate and the webhooks need it', () => {
    expect(policyServerDnsNames(server(), 'palisade-system')).toEqual([
      'policy-server-default',
      'policy-server-default.palisade-system',
      'policy-server-default.palisade-system.svc',
      'policy-server-default.palisade-system.svc.cluster.local',
    ]);
    expect(policyServerServiceReference(server(), 'palisade-system')).toEqual({
      namespace: 'palisade-system',
      name: 'policy-server-default',
      port: 443,
    });
  });
});
