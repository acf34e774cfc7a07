import { describe, expect, it } from 'vitest';
import { silentLogger } from '../shared/logger.js';
import type { JsonValue } from '../shared/admission.js';
import { loadEnvironment } from './environment.js';
import { definitionsFromDocuments } from './sources.js';
import { deploymentRequest, replicaManifest, replicaSettings } from './testdata.js';
import type { EvaluationRecord } from './types.js';

async function envOf(docs: JsonValue[], records: EvaluationRecord[] = []) {
  return loadEnvironment(definitionsFromDocuments(docs, 'test.yaml'), {
    logger: silentLogger(),
    observer: (r) => records.push(r),
  });
}

describe('evaluate', () => {
  it('runs Kubewarden’s replica manifest unchanged under policies.kubewarden.io/v1', async () => {
    const env = await envOf([replicaManifest()]);
    expect(env.policyIds()).toEqual(['clusterwide-replica-limit']);
    const rejected = await env.evaluate(
      'clusterwide-replica-limit',
      deploymentRequest(6),
      'validate',
    );
    expect(rejected).toEqual({
      uid: 'uid-1',
      allowed: false,
      status: { message: 'the number of replicas must be less than or equal to 5', code: 400 },
    });
    expect(
      await env.evaluate('clusterwide-replica-limit', deploymentRequest(3), 'validate'),
    ).toEqual({ uid: 'uid-1', allowed: true });
  });

  it('accepts the same manifest under policies.palisade.dev/v1 and rejects other versions', async () => {
    const env = await envOf([replicaManifest({}, 'policies.palisade.dev/v1')]);
    expect(env.loadErrors().size).toBe(0);
    const old = await envOf([replicaManifest({}, 'policies.kubewarden.io/v1alpha2')]);
    expect(old.loadErrors().get('clusterwide-replica-limit')).toContain('apiVersion');
  });

  it('monitor mode answers allowed and still records the verdict', async () => {
    const records: EvaluationRecord[] = [];
    const env = await envOf([replicaManifest({ mode: 'monitor' })], records);
    expect(
      await env.evaluate('clusterwide-replica-limit', deploymentRequest(6), 'validate'),
    ).toEqual({ uid: 'uid-1', allowed: true });
    expect(records[0]).toMatchObject({
      policyMode: 'monitor',
      accepted: false,
      errorCode: 400,
      requestOrigin: 'validate',
    });
  });

  it('audit returns the raw verdict, without mode or message override', async () => {
    const env = await envOf([replicaManifest({ mode: 'monitor', message: 'custom' })]);
    const r = await env.evaluate('clusterwide-replica-limit', deploymentRequest(6), 'audit');
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toBe('the number of replicas must be less than or equal to 5');
  });

  it('replaces the rejection message and keeps the original as a cause', async () => {
    const env = await envOf([replicaManifest({ message: 'too many replicas for this cluster' })]);
    const r = await env.evaluate('clusterwide-replica-limit', deploymentRequest(6), 'validate');
    expect(r.status).toEqual({
      message: 'too many replicas for this cluster',
      code: 400,
      details: { causes: [{ message: 'the number of replicas must be less than or equal to 5' }] },
    });
  });

  it('a policy that fails to load rejects with 500 and its error while the others serve', async () => {
    const broken = replicaManifest({
      settings: { validations: [{ expression: "'not a bool'" }] },
    }) as Record<string, JsonValue>;
    broken.metadata = { name: 'broken' };
    const wasm = replicaManifest({
      module: 'registry://ghcr.io/kubewarden/policies/pod-privileged:v1.0.0',
    }) as Record<string, JsonValue>;
    wasm.metadata = { name: 'wasm' };
    const env = await envOf([replicaManifest(), broken, wasm]);
    const r = await env.evaluate('clusterwide-broken', deploymentRequest(1), 'validate');
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(500);
    expect(r.status?.message).toContain(
      'spec.settings.validations[0].expression: must evaluate to bool',
    );
    expect(
      (await env.evaluate('clusterwide-wasm', deploymentRequest(1), 'validate')).status?.message,
    ).toContain('needs the WebAssembly runtime');
    expect(
      (await env.evaluate('clusterwide-replica-limit', deploymentRequest(1), 'validate')).allowed,
    ).toBe(true);
  });

  it('reports an invalid spec with its field path as that policy’s load error', async () => {
    const bad = replicaManifest({ rules: [], mode: 'enforce' });
    const env = await envOf([bad]);
    const error = env.loadErrors().get('clusterwide-replica-limit') ?? '';
    expect(error).toContain('spec.rules');
    expect(error).toContain('spec.mode');
  });

  it('throws policy_not_found for an unknown id', async () => {
    const env = await envOf([replicaManifest()]);
    await expect(env.evaluate('nope', deploymentRequest(1), 'validate')).rejects.toMatchObject({
      code: 'policy_not_found',
    });
  });

  it('matches rules, namespaces and selectors only when asked (the CLI), not on the admission path', async () => {
    const env = await envOf([replicaManifest({ objectSelector: { matchLabels: { app: 'api' } } })]);
    const request = deploymentRequest(6);
    expect(
      (await env.evaluate('clusterwide-replica-limit', request, 'validate', { matchRequest: true }))
        .allowed,
    ).toBe(true);
    expect((await env.evaluate('clusterwide-replica-limit', request, 'validate')).allowed).toBe(
      false,
    );
    const pod = deploymentRequest(6, { resource: { group: '', version: 'v1', resource: 'pods' } });
    expect(
      (await env.evaluate('clusterwide-replica-limit', pod, 'validate', { matchRequest: true }))
        .allowed,
    ).toBe(true);
  });

  it('evaluates an AdmissionPolicy only in its own namespace', async () => {
    const doc = {
      ...(replicaManifest() as Record<string, JsonValue>),
      kind: 'AdmissionPolicy',
      metadata: { name: 'limit', namespace: 'team-a' },
    };
    const env = await envOf([doc]);
    expect(env.policyIds()).toEqual(['namespaced-team-a-limit']);
    const inA = deploymentRequest(6, { namespace: 'team-a' });
    expect(
      (await env.evaluate('namespaced-team-a-limit', inA, 'validate', { matchRequest: true }))
        .allowed,
    ).toBe(false);
    expect(
      (
        await env.evaluate('namespaced-team-a-limit', deploymentRequest(6), 'validate', {
          matchRequest: true,
        })
      ).allowed,
    ).toBe(true);
  });

  it('applies matchConditions with CEL', async () => {
    const env = await envOf([
      replicaManifest({
        matchConditions: [
          { name: 'not-alice', expression: "request.userInfo.username != 'alice'" },
        ],
      }),
    ]);
    expect(
      (
        await env.evaluate('clusterwide-replica-limit', deploymentRequest(6), 'validate', {
          matchRequest: true,
        })
      ).allowed,
    ).toBe(true);
  });
});

describe('policy groups', () => {
  const group = (expression: string): JsonValue => ({
    apiVersion: 'policies.palisade.dev/v1',
    kind: 'ClusterAdmissionPolicyGroup',
    metadata: { name: 'deploy-rules' },
    spec: {
      rules: [
        {
          apiGroups: ['apps'],
          apiVersions: ['v1'],
          resources: ['deployments'],
          operations: ['CREATE'],
        },
      ],
      expression,
      message: 'the deployment breaks the rules',
      policies: {
        small: { module: 'builtin://cel', settings: replicaSettings },
        labelled: {
          module: 'builtin://cel',
          settings: {
            validations: [
              { expression: 'has(object.metadata.labels.team)', message: 'team label missing' },
            ],
          },
        },
      },
    },
  });

  it('rejects with the group message and one cause per failing member', async () => {
    const env = await envOf([group('small() && labelled()')]);
    const r = await env.evaluate(
      'clusterwide-group-deploy-rules',
      deploymentRequest(6),
      'validate',
    );
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toBe('the deployment breaks the rules');
    // && short-circuits: `labelled` is never evaluated once `small` failed.
    expect(r.status?.details?.causes).toEqual([
      {
        field: 'spec.policies.small',
        message: 'the number of replicas must be less than or equal to 5',
      },
    ]);
  });

  it('accepts when the expression holds', async () => {
    const env = await envOf([group('small() || labelled()')]);
    expect(
      (await env.evaluate('clusterwide-group-deploy-rules', deploymentRequest(3), 'validate'))
        .allowed,
    ).toBe(true);
    const both = await env.evaluate(
      'clusterwide-group-deploy-rules',
      deploymentRequest(6),
      'validate',
    );
    expect(both.status?.details?.causes.map((c) => c.field)).toEqual([
      'spec.policies.small',
      'spec.policies.labelled',
    ]);
    const negated = await envOf([group('!labelled()')]);
    expect(
      (await negated.evaluate('clusterwide-group-deploy-rules', deploymentRequest(3), 'validate'))
        .allowed,
    ).toBe(true);
  });

  it('an expression naming an unknown member is a load error', async () => {
    const env = await envOf([group('small() && missing()')]);
    expect(env.loadErrors().get('clusterwide-group-deploy-rules')).toContain(
      'unknown policy "missing"',
    );
  });
});
