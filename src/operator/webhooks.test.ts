import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../shared/admission.js';
import { webhookConfiguration, type PolicyResource } from './webhooks.js';

const RULES = [
  { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'], operations: ['CREATE'] },
];
const CONTEXT = {
  operatorNamespace: 'palisade',
  target: { kind: 'service', namespace: 'palisade' } as const,
  caBundle: '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n',
};

function policy(
  kind: PolicyResource['kind'],
  spec: JsonObject,
  namespace?: string,
): PolicyResource {
  return {
    apiVersion: 'policies.palisade.dev/v1',
    kind,
    metadata: { name: 'limit', ...(namespace !== undefined ? { namespace } : {}) },
    spec: { module: 'builtin://cel', rules: RULES, mutating: false, ...spec },
  };
}

type Webhook = Record<string, unknown> & { namespaceSelector: unknown; clientConfig: JsonObject };
const webhookOf = (config: JsonObject) => (config['webhooks'] as Webhook[])[0];

describe('webhookConfiguration', () => {
  it('names the configuration and path by Kubewarden unique name and copies the webhook fields', () => {
    const config = webhookConfiguration(
      policy('ClusterAdmissionPolicy', {
        policyServer: 'tenants',
        failurePolicy: 'Ignore',
        matchPolicy: 'Exact',
        objectSelector: { matchLabels: { app: 'web' } },
        matchConditions: [{ name: 'not-system', expression: 'true' }],
        timeoutSeconds: 5,
        sideEffects: 'NoneOnDryRun',
      }),
      CONTEXT,
    );
    expect(config['kind']).toBe('ValidatingWebhookConfiguration');
    expect(config['metadata']).toMatchObject({ name: 'clusterwide-limit' });
    expect(webhookOf(config)).toMatchObject({
      name: 'clusterwide-limit.palisade.admission',
      clientConfig: {
        service: {
          namespace: 'palisade',
          name: 'policy-server-tenants',
          path: '/validate/clusterwide-limit',
          port: 443,
        },
        caBundle: Buffer.from(CONTEXT.caBundle).toString('base64'),
      },
      rules: RULES,
      failurePolicy: 'Ignore',
      matchPolicy: 'Exact',
      objectSelector: { matchLabels: { app: 'web' } },
      matchConditions: [{ name: 'not-system', expression: 'true' }],
      timeoutSeconds: 5,
      sideEffects: 'NoneOnDryRun',
      admissionReviewVersions: ['v1'],
    });
  });

  it("keeps the user's matchLabels when excluding Palisade's namespace (Kubewarden drops them)", () => {
    const config = webhookConfiguration(
      policy('ClusterAdmissionPolicy', {
        namespaceSelector: {
          matchLabels: { team: 'a' },
          matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }],
        },
      }),
      CONTEXT,
    );
    expect(webhookOf(config)?.namespaceSelector).toEqual({
      matchLabels: { team: 'a' },
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['palisade'] },
        { key: 'env', operator: 'In', values: ['prod'] },
      ],
    });
    const inside = webhookConfiguration(
      policy('ClusterAdmissionPolicy', { allowInsideAdmissionControllerNamespace: true }),
      CONTEXT,
    );
    expect(webhookOf(inside)?.namespaceSelector).toEqual({});
  });

  it('confines a namespaced policy to its namespace and namespaced resources', () => {
    const config = webhookConfiguration(policy('AdmissionPolicy', {}, 'team-a'), CONTEXT);
    expect(config['metadata']).toMatchObject({ name: 'namespaced-team-a-limit' });
    expect(webhookOf(config)).toMatchObject({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'team-a' } },
      rules: [{ ...RULES[0], scope: 'Namespaced' }],
    });
  });

  it('makes mutating configurations for mutating policies only, never for groups', () => {
    expect(
      webhookConfiguration(policy('ClusterAdmissionPolicy', { mutating: true }), CONTEXT)['kind'],
    ).toBe('MutatingWebhookConfiguration');
    const group = webhookConfiguration(
      policy('ClusterAdmissionPolicyGroup', { mutating: true }),
      CONTEXT,
    );
    expect(group['kind']).toBe('ValidatingWebhookConfiguration');
    expect(group['metadata']).toMatchObject({ name: 'clusterwide-group-limit' });
  });

  it('points at a URL in dev mode', () => {
    const config = webhookConfiguration(policy('ClusterAdmissionPolicy', {}), {
      ...CONTEXT,
      target: { kind: 'url', baseUrl: 'https://127.0.0.1:8443/' },
    });
    expect(webhookOf(config)?.clientConfig['url']).toBe(
      'https://127.0.0.1:8443/validate/clusterwide-limit',
    );
  });
});
