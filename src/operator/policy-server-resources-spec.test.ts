import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/support/errors.js';
import type { PolicyServerSpec } from '../api/policies/policy-server.js';
import { parseQuantity } from './policy-server-resources-quantity.js';
import {
  policyServerDeployment,
  policyServerPodDisruptionBudget,
  policyServerResources,
  validatePolicyServer,
  type PolicyServerContext,
  type PolicyServerInput,
  type PolicyServerSpecInput,
} from './policy-server-resources.js';

const ctx: PolicyServerContext = {
  namespace: 'palisade-system',
  defaultImage: 'palisade:default',
  caBundle: 'CA',
  servingCertPem: 'CERT',
  servingKeyPem: 'KEY',
};

function server(spec: Partial<PolicyServerSpecInput> = {}, name = 'default'): PolicyServerInput {
  return { metadata: { name, uid: 'uid-1' }, spec: { image: 'palisade:1', replicas: 1, ...spec } };
}

function fieldsOf(ps: PolicyServerInput): Record<string, string> {
  const e = thrown(() => {
    validatePolicyServer(ps);
  }, 'config_invalid');
  return Object.fromEntries(e.fields.map((f) => [f.path, f.message]));
}

describe('validatePolicyServer', () => {
  it('takes the spec of the CRD schema as it is (compile-time check)', () => {
    const fromSchema: PolicyServerSpec = { image: 'palisade:1', replicas: 1, webhookPort: 8443 };
    const input: PolicyServerSpecInput = fromSchema;
    validatePolicyServer({ metadata: { name: 'default', uid: 'u' }, spec: input });
  });

  it('accepts a minimal and a full PolicyServer', () => {
    validatePolicyServer(server());
    validatePolicyServer(
      server({
        minAvailable: '50%',
        webhookPort: 9443,
        metricsPort: 8080,
        serviceAccountName: 'reader',
        imagePullSecret: 'creds',
        verificationConfig: 'verification',
        priorityClassName: 'high',
        env: [{ name: 'A', value: '1' }],
        insecureSources: ['registry.local:5000'],
        sourceAuthorities: { 'r.local': ['-----BEGIN CERTIFICATE-----\nx'] },
        limits: { cpu: '2', memory: '1Gi' },
        requests: { cpu: '1500m', memory: '1024Mi' },
      }),
    );
  });

  it('refuses minAvailable with maxUnavailable, naming the PolicyServer and both fields', () => {
    const ps = server({ minAvailable: 1, maxUnavailable: 1 }, 'tenant-a');
    for (const build of [
      () => {
        validatePolicyServer(ps);
      },
      () => policyServerPodDisruptionBudget(ps, ctx),
      () => policyServerDeployment(ps, ctx),
      () => policyServerResources(ps, ctx, ''),
    ]) {
      const e = thrown(build, 'config_invalid');
      expect(e.message).toBe(
        'PolicyServer "tenant-a" is invalid: spec.minAvailable: cannot be set together with ' +
          'spec.maxUnavailable: a PodDisruptionBudget takes one',
      );
      expect(e.fields).toEqual([
        {
          path: 'spec.minAvailable',
          message:
            'cannot be set together with spec.maxUnavailable: a PodDisruptionBudget takes one',
        },
      ]);
    }
  });

  it('collects every problem with its field path', () => {
    const fields = fieldsOf({
      metadata: { name: 'Not.A.Label', uid: '' },
      spec: {
        replicas: -1,
        minAvailable: '150%',
        webhookPort: 70000,
        metricsPort: 443,
        serviceAccountName: 'Bad_Name',
        env: [
          { name: 'A', value: '1' },
          { name: 'A', value: '2' },
        ],
        insecureSources: [' '],
        sourceAuthorities: { 'r.local': ['not a pem'] },
        limits: { cpu: '1', memory: 'lots' },
        requests: { cpu: '2', memory: '-1Mi' },
      },
    });
    expect(Object.keys(fields).sort()).toEqual([
      'metadata.name',
      'metadata.uid',
      'spec.env[1].name',
      'spec.insecureSources[0]',
      'spec.limits.memory',
      'spec.metricsPort',
      'spec.minAvailable',
      'spec.replicas',
      'spec.requests.cpu',
      'spec.requests.memory',
      'spec.serviceAccountName',
      'spec.sourceAuthorities["r.local"][0]',
      'spec.webhookPort',
    ]);
    expect(fields['spec.requests.cpu']).toBe('must not exceed spec.limits.cpu');
    expect(fields['spec.env[1].name']).toBe('A is listed twice');
  });

  it('keeps policy-server-<name> a valid Service name', () => {
    validatePolicyServer(server({}, 'a'.repeat(49)));
    expect(Object.keys(fieldsOf(server({}, 'a'.repeat(50))))).toEqual(['metadata.name']);
    expect(Object.keys(fieldsOf(server({}, '1abc')))).toEqual(['metadata.name']);
  });
});

describe('parseQuantity', () => {
  it.each([
    ['1', 1],
    ['250m', 0.25],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['2k', 2000],
    ['1e3', 1000],
    ['5E-1', 0.5],
    ['-1', -1],
    [3, 3],
  ] as const)('%s is %d', (q, want) => {
    expect(parseQuantity(q)).toBeCloseTo(want, 12);
  });

  it.each(['', 'lots', '1 Gi', '1gi', '1.2.3', 'Mi', '1Mi1'])('%j is not a quantity', (q) => {
    expect(parseQuantity(q)).toBeUndefined();
  });
});
