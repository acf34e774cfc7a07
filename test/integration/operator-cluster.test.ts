import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeHttp } from '../../src/shared/kube-http.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube.js';
import { startOperator, type OperatorProcess } from './support/cli.js';
import {
  GROUP,
  LEASE,
  NS,
  WEBHOOKS,
  certificates,
  eventually,
  find,
  policiesYml,
  prepareCluster,
  replicaPolicy,
  secretText,
  update,
  type Stored,
} from './support/operator-cluster.js';

/**
 * `palisade operator` as a real process against a real kube-apiserver and etcd. No controller
 * manager runs there: no pod ever starts and nothing is garbage-collected, so the tests check
 * the objects and their owner references, and that a policy nobody serves stays pending
 * without a webhook. Two processes share the Lease; the leader is killed (SIGKILL) and the
 * standby must take over.
 */

const PS_PATH = `${GROUP}/policyservers/default`;
const POLICIES = `${GROUP}/clusteradmissionpolicies`;
const OBJECTS = {
  ServiceAccount: `/api/v1/namespaces/${NS}/serviceaccounts`,
  Role: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`,
  RoleBinding: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`,
  Secret: `/api/v1/namespaces/${NS}/secrets`,
  ConfigMap: `/api/v1/namespaces/${NS}/configmaps`,
  Service: `/api/v1/namespaces/${NS}/services`,
  Deployment: `/apis/apps/v1/namespaces/${NS}/deployments`,
} as const;
const DEPLOYMENT = `${OBJECTS.Deployment}/policy-server-default`;

let kube: KubeApiServer;
let api: KubeHttp;
let leader: OperatorProcess;
let standby: OperatorProcess;
let psUid = '';

function report(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function holder(): Promise<string> {
  return (await find(api, LEASE))?.spec?.holderIdentity ?? '';
}

async function policyStatus(name: string): Promise<Stored['status']> {
  return (await find(api, `${POLICIES}/${name}`))?.status;
}

beforeAll(async () => {
  kube = await startKubeApiServer();
  api = await prepareCluster(kube);
}, 120_000);

afterAll(async () => {
  // Undefined when a test failed before starting it.
  const started = [leader, standby] as (OperatorProcess | undefined)[];
  for (const o of started) if (o !== undefined) await o.stop('SIGKILL');
  api.close();
  await kube.stop();
}, 60_000);

describe('palisade operator on a real API server', () => {
  it('turns a PolicyServer into its objects, all owned by it, with a certificate of palisade-ca', async () => {
    const started = Date.now();
    leader = await startOperator(kube.kubeconfigPath, 'operator-a', '--namespace', NS);
    await eventually('leadership', async () =>
      (await holder()).startsWith('operator-a') ? 1 : undefined,
    );
    const first = await eventually(
      'the first reconcile',
      () => /"sinceStartMs":(\d+)[^\n]*first reconcile done/.exec(leader.log())?.[1],
    );
    report(
      `operator start: first reconcile done ${first} ms after the controllers started (${String(Date.now() - started)} ms after spawn, Node start-up and CRD check included)`,
    );
    const created = await api.request('POST', `${GROUP}/policyservers`, {
      apiVersion: 'policies.palisade.dev/v1',
      kind: 'PolicyServer',
      metadata: { name: 'default' },
      spec: { image: 'ghcr.io/palisade/palisade:test', replicas: 2 },
    });
    const psCreated = Date.now();
    psUid = (created as unknown as Stored).metadata.uid;
    await eventually('the Deployment', () => find(api, DEPLOYMENT));
    report(
      `first reconcile: Deployment ${String(Date.now() - psCreated)} ms after the PolicyServer (operator started ${String(psCreated - started)} ms before it)`,
    );
    for (const [kind, collection] of Object.entries(OBJECTS)) {
      const o = await find(api, `${collection}/policy-server-default`);
      expect(o, kind).toBeDefined();
      expect(o?.metadata.ownerReferences, kind).toEqual([
        {
          apiVersion: 'policies.palisade.dev/v1',
          kind: 'PolicyServer',
          name: 'default',
          uid: psUid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const ca = await find(api, `${OBJECTS.Secret}/palisade-ca`);
    const [caCert] = certificates(secretText(ca, 'ca.crt'));
    const tls = await find(api, `${OBJECTS.Secret}/policy-server-default`);
    const [serving] = certificates(secretText(tls, 'tls.crt'));
    expect(caCert && serving?.checkIssued(caCert) && serving.verify(caCert.publicKey)).toBe(true);
    expect(serving?.subjectAltName).toContain('DNS:policy-server-default.palisade-system.svc');
    expect(secretText(tls, 'ca.crt')).toBe(secretText(ca, 'ca.crt'));
    const conditions = await eventually('PolicyServer conditions', async () => {
      const c = (await find(api, PS_PATH))?.status?.conditions;
      return c !== undefined && c.length > 0 ? c : undefined;
    });
    expect(conditions.map((c) => [c.type, c.status])).toEqual([
      ['CARootSecretReconciled', 'True'],
      ['CertSecretReconciled', 'True'],
      ['ConfigMapReconciled', 'True'],
      ['ServiceReconciled', 'True'],
      ['PodDisruptionBudgetReconciled', 'True'],
      ['DeploymentReconciled', 'True'],
    ]);
  });

  it('puts a policy into the ConfigMap without rolling the Deployment; unserved, it stays pending with no webhook', async () => {
    const before = await find(api, DEPLOYMENT);
    const applied = Date.now();
    await api.request('POST', POLICIES, replicaPolicy('replica-limit', 5));
    const entry = await eventually(
      'the policy in policies.yml',
      async () => (await policiesYml(api, 'default'))?.['clusterwide-replica-limit'],
    );
    report(`policy in the ConfigMap ${String(Date.now() - applied)} ms after kubectl apply`);
    expect(entry).toMatchObject({ module: 'builtin://cel', policyMode: 'protect' });
    const status = await eventually('a pending status', async () => {
      const s = await policyStatus('replica-limit');
      return s?.policyStatus === 'pending' ? s : undefined;
    });
    expect(status.conditions?.find((c) => c.type === 'PolicyActive')?.message).toBe(
      'the policy server has not reported on this policy yet',
    );
    expect(await find(api, `${WEBHOOKS}/clusterwide-replica-limit`)).toBeUndefined();

    await update(api, `${POLICIES}/replica-limit`, (spec) => {
      spec['settings'] = replicaPolicy('replica-limit', 7).spec.settings;
    });
    await eventually('the change in policies.yml', async () =>
      JSON.stringify((await policiesYml(api, 'default'))?.['clusterwide-replica-limit']).includes(
        '<= 7',
      )
        ? true
        : undefined,
    );
    const after = await find(api, DEPLOYMENT);
    // The key property: policies reach the pods through the ConfigMap watch, never a rollout.
    expect(after?.metadata.generation).toBe(before?.metadata.generation);
    expect(after?.spec?.template).toEqual(before?.spec?.template);
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
  });

  it('marks a policy of a missing PolicyServer scheduled and leaves it out of every ConfigMap', async () => {
    await api.request('POST', POLICIES, replicaPolicy('elsewhere', 1, 'missing'));
    await eventually('scheduled', async () =>
      (await policyStatus('elsewhere'))?.policyStatus === 'scheduled' ? true : undefined,
    );
    expect(Object.keys((await policiesYml(api, 'default')) ?? {})).toEqual([
      'clusterwide-replica-limit',
    ]);
    expect(await find(api, `${WEBHOOKS}/clusterwide-elsewhere`)).toBeUndefined();
  });

  it('elects one leader: the standby waits, takes over when the leader is killed, and reconciles', async () => {
    standby = await startOperator(kube.kubeconfigPath, 'operator-b', '--namespace', NS);
    await eventually('the standby to say so', () =>
      standby.log().includes('standing by: another operator leads') ? true : undefined,
    );
    expect(await holder()).toBe(`operator-a_${String(leader.pid)}`);
    expect(standby.log()).not.toContain('leading: reconciling');
    expect(leader.log()).toContain('leading: reconciling');

    const killed = Date.now();
    await leader.stop('SIGKILL');
    await eventually(
      'the standby to hold the Lease',
      async () => ((await holder()).startsWith('operator-b') ? true : undefined),
      40_000,
    );
    report(
      `leader takeover: the Lease changed hands ${String(Date.now() - killed)} ms after SIGKILL`,
    );
    await eventually('the new leader to reconcile', () =>
      standby.log().includes('leading: reconciling') ? true : undefined,
    );
    await api.request('POST', POLICIES, replicaPolicy('after-takeover', 3));
    await eventually(
      'the new policy in policies.yml',
      async () => (await policiesYml(api, 'default'))?.['clusterwide-after-takeover'],
    );
    report(`reconciling again ${String(Date.now() - killed)} ms after SIGKILL`);
  }, 90_000);

  it('schedules the policies of a deleted PolicyServer and stops cleanly, releasing the Lease', async () => {
    await api.request('DELETE', PS_PATH);
    await eventually('scheduled', async () =>
      (await policyStatus('replica-limit'))?.policyStatus === 'scheduled' ? true : undefined,
    );
    const code = await standby.stop('SIGTERM');
    expect(code).toBe(0);
    expect(await holder()).toBe('');
  }, 30_000);

  it('reconciles at once without leader election, and leaves the Lease alone', async () => {
    const single = await startOperator(
      kube.kubeconfigPath,
      'operator-c',
      '--namespace',
      NS,
      '--no-leader-election',
    );
    try {
      expect(single.log()).toContain('leading: reconciling');
      await api.request('POST', `${GROUP}/policyservers`, {
        apiVersion: 'policies.palisade.dev/v1',
        kind: 'PolicyServer',
        metadata: { name: 'single' },
        spec: { image: 'ghcr.io/palisade/palisade:test', replicas: 1 },
      });
      await eventually('its Deployment', () =>
        find(api, `${OBJECTS.Deployment}/policy-server-single`),
      );
      expect(await holder()).toBe('');
    } finally {
      expect(await single.stop('SIGTERM')).toBe(0);
    }
  }, 30_000);
});
