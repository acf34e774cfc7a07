import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterPolicySink } from '../../src/operator/cluster-sink.js';
import { PolicyController } from '../../src/operator/controller.js';
import { PolicyServerController } from '../../src/operator/policy-server-controller.js';
import { TLS_HASH_ANNOTATION } from '../../src/operator/policy-server-resources.js';
import {
  httpsStateReader,
  type PolicyStateReport,
} from '../../src/operator/policy-state-reader.js';
import type { PolicyResource } from '../../src/operator/webhooks.js';
import type { JsonObject } from '../../src/shared/admission.js';
import type { KubeHttp } from '../../src/shared/kube-http.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube.js';
import { spawnServe, type ServeProcess } from './support/cli.js';
import {
  GROUP,
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
 * The cluster sink and the PolicyServer controller in this process against a real API server,
 * with a real `palisade serve --policies-configmap` standing in for the policy server pod
 * that no kubelet runs here. The operator reaches it by its real reader (HTTPS, the Service's
 * name checked against the certificate, the operator CA trusted); only the name resolution is
 * pointed at 127.0.0.1 and the port at the local server's. "Unreachable" is a real refused
 * connection. No fake anywhere else.
 */

const POLICY = `${GROUP}/clusteradmissionpolicies/replica-limit`;
const WEBHOOK = `${WEBHOOKS}/clusterwide-replica-limit`;
const DAY_MS = 86_400_000;

let kube: KubeApiServer;
let api: KubeHttp;
let dir: string;
let serve: ServeProcess | undefined;
/** Port of the local policy server; 1 (nothing listens) while there is none. */
let port = 1;
let clock = new Date();

const toLoopback: LookupFunction = (_host, options, callback) => {
  if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

const servers = () =>
  new PolicyServerController({
    api,
    logger: silentLogger(),
    namespace: NS,
    defaultImage: 'ghcr.io/palisade/palisade:test',
    now: () => clock,
    stateReader: (_ps, url, caBundle) => () =>
      httpsStateReader({
        url: url.replace(':443/', `:${String(port)}/`),
        caBundle,
        logger: silentLogger(),
        lookup: toLoopback,
      })(),
  });

let psController: PolicyServerController;
let policyController: PolicyController;

/** One pass of what `palisade operator` runs on every change, from what the API server holds. */
async function reconcile(): Promise<void> {
  const list = async (plural: string) =>
    ((await api.request('GET', `${GROUP}/${plural}`))['items'] ?? []) as JsonObject[];
  const policies = (await list('clusteradmissionpolicies')) as unknown as PolicyResource[];
  await psController.reconcile(await list('policyservers'), policies);
  await policyController.reconcile(policies);
}

async function status(): Promise<NonNullable<Stored['status']>> {
  return (await find(api, POLICY))?.status ?? {};
}

/** `palisade serve` with the serving pair the operator issued for `default`. */
async function startPolicyServer(): Promise<void> {
  const secret = await find(api, `/api/v1/namespaces/${NS}/secrets/policy-server-default`);
  await writeFile(join(dir, 'tls.crt'), secretText(secret, 'tls.crt'));
  await writeFile(join(dir, 'tls.key'), secretText(secret, 'tls.key'));
  serve = spawnServe({
    args: [
      '--policies-configmap',
      `${NS}/policy-server-default`,
      '--cert-file',
      join(dir, 'tls.crt'),
      '--key-file',
      join(dir, 'tls.key'),
    ],
    env: { KUBECONFIG: kube.kubeconfigPath },
  });
  port = Number(new URL(await serve.url).port);
}

beforeAll(async () => {
  kube = await startKubeApiServer();
  api = await prepareCluster(kube);
  dir = await mkdtemp(join(tmpdir(), 'palisade-sink-'));
  psController = servers();
  policyController = new PolicyController({
    api,
    logger: silentLogger(),
    webhooks: {
      operatorNamespace: NS,
      target: { kind: 'service', namespace: NS },
      get caBundle() {
        return psController.caBundle();
      },
    },
    sinkFor: (name) => psController.sinkFor(name),
  });
  await api.request('POST', `${GROUP}/policyservers`, {
    apiVersion: 'policies.palisade.dev/v1',
    kind: 'PolicyServer',
    metadata: { name: 'default' },
    spec: { image: 'ghcr.io/palisade/palisade:test', replicas: 1 },
  });
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  api.close();
  await Promise.all([kube.stop(), rm(dir, { recursive: true, force: true })]);
}, 60_000);

describe('the cluster sink with a real policy server', () => {
  it('no pod answers: the policy is written, pending, and gets no webhook', async () => {
    await api.request(
      'POST',
      `${GROUP}/clusteradmissionpolicies`,
      replicaPolicy('replica-limit', 5),
    );
    await reconcile();
    expect(Object.keys((await policiesYml(api, 'default')) ?? {})).toEqual([
      'clusterwide-replica-limit',
    ]);
    expect((await status()).policyStatus).toBe('pending');
    expect(await find(api, WEBHOOK)).toBeUndefined();
    expect(psController.awaitingReport()).toBe(true);
  });

  it('once the server loaded the version written, the webhook calls the Service with the operator CA', async () => {
    await startPolicyServer();
    const began = Date.now();
    await eventually('active', async () => {
      await reconcile();
      return (await status()).policyStatus === 'active' ? true : undefined;
    });
    process.stdout.write(
      `cluster sink: active ${String(Date.now() - began)} ms after the server started\n`,
    );
    expect(psController.awaitingReport()).toBe(false);
    const [hook] = (await find(api, WEBHOOK))?.webhooks ?? [];
    expect(hook?.clientConfig['service']).toEqual({
      namespace: NS,
      name: 'policy-server-default',
      path: '/validate/clusterwide-replica-limit',
      port: 443,
    });
    const ca = await find(api, `/api/v1/namespaces/${NS}/secrets/palisade-ca`);
    expect(Buffer.from(String(hook?.clientConfig['caBundle']), 'base64').toString()).toBe(
      secretText(ca, 'ca.crt'),
    );
  });

  it('a version that fails to load: the previous one keeps its webhook, the status says why', async () => {
    await update(api, POLICY, (spec) => {
      const settings = replicaPolicy('replica-limit', 5).spec.settings;
      settings.validations[0] = { expression: 'variables.replicas <=', message: 'x' };
      spec['settings'] = settings;
    });
    const failed = await eventually('the load error', async () => {
      await reconcile();
      const s = await status();
      return s.loadError !== undefined ? s : undefined;
    });
    expect(failed.policyStatus).toBe('active');
    expect(
      failed.conditions?.find((c) => c.type === 'PolicyServerConfigurationUpToDate'),
    ).toMatchObject({
      status: 'False',
      reason: 'LoadFailed',
    });
    expect(await find(api, WEBHOOK)).toBeDefined();
  });

  it('the server goes away: no report, pending, and the webhook stays (no enforcement gap)', async () => {
    await serve?.stop();
    serve = undefined;
    await update(api, POLICY, (spec) => {
      spec['settings'] = replicaPolicy('replica-limit', 4).spec.settings;
    });
    await reconcile();
    const s = await status();
    expect(s.policyStatus).toBe('pending');
    expect(s.conditions?.find((c) => c.type === 'PolicyActive')?.message).toBe(
      'the policy server has not reported on this policy yet',
    );
    expect(await find(api, WEBHOOK)).toBeDefined();
  });

  it('rotates the CA near its expiry: both CAs trusted, serving certificate reissued, pods rolled', async () => {
    const deployment = `/apis/apps/v1/namespaces/${NS}/deployments/policy-server-default`;
    const hashOf = async () =>
      (
        (await find(api, deployment))?.spec?.template as {
          metadata: { annotations: Record<string, string> };
        }
      ).metadata.annotations[TLS_HASH_ANNOTATION];
    const caPath = `/api/v1/namespaces/${NS}/secrets/palisade-ca`;
    const oldCa = secretText(await find(api, caPath), 'ca.crt');
    const oldHash = await hashOf();
    await startPolicyServer();
    clock = new Date(Date.now() + (3650 - 300) * DAY_MS);
    await reconcile();
    const rotated = await find(api, caPath);
    expect(secretText(rotated, 'previous-ca.crt')).toBe(oldCa);
    const [newCa, previous] = certificates(psController.caBundle());
    expect(previous?.toString()).toBe(certificates(oldCa)[0]?.toString());
    const tls = await find(api, `/api/v1/namespaces/${NS}/secrets/policy-server-default`);
    const [serving] = certificates(secretText(tls, 'tls.crt'));
    expect(newCa && serving?.checkIssued(newCa)).toBe(true);
    expect(certificates(secretText(tls, 'ca.crt'))).toHaveLength(2);
    expect(await hashOf()).not.toBe(oldHash);
    // The running server still has a certificate of the old CA: the bundle keeps it trusted.
    await eventually('active again', async () => {
      await reconcile();
      return (await status()).policyStatus === 'active' ? true : undefined;
    });
    const [hook] = (await find(api, WEBHOOK))?.webhooks ?? [];
    const bundle = Buffer.from(String(hook?.clientConfig['caBundle']), 'base64').toString();
    expect(certificates(bundle)).toHaveLength(2);
  });
});

describe('which reports count: a scripted pod', () => {
  // The one fake: the answers of a policy server pod, scripted to lag behind on purpose.
  let answer: PolicyStateReport | undefined;
  const sink = () =>
    new ClusterPolicySink({
      api,
      logger: silentLogger(),
      readStates: () => Promise.resolve(answer),
      config: {},
      configMap: (yaml) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'scripted', namespace: NS },
        data: { 'policies.yml': yaml },
      }),
    });
  const policy = (name: string, max: number) =>
    replicaPolicy(name, max) as unknown as PolicyResource;
  const active = { state: 'active', generation: 'g' } as const;
  const version = async () =>
    (await find(api, `/api/v1/namespaces/${NS}/configmaps/scripted`))?.metadata.resourceVersion ??
    '';

  it('counts a report only once it covers the ConfigMap version that holds the entry', async () => {
    const s = sink();
    answer = { states: new Map([['clusterwide-a', active]]), resourceVersion: '1' };
    expect(await s.apply([], [policy('a', 1)])).toEqual(new Map());
    expect(s.awaitingReport()).toBe(true);
    const v1 = await version();
    answer = { states: new Map([['clusterwide-a', active]]), resourceVersion: v1 };
    expect([...(await s.apply([], [policy('a', 1)])).keys()]).toEqual(['clusterwide-a']);
    expect(s.awaitingReport()).toBe(false);
    // Unchanged: server-side apply changes nothing, not even the resourceVersion.
    expect(await version()).toBe(v1);

    // b is new: a report about v1 still counts for a (unchanged since), not for b.
    answer = {
      states: new Map([
        ['clusterwide-a', active],
        ['clusterwide-b', active],
      ]),
      resourceVersion: v1,
    };
    const both = await s.apply([], [policy('a', 1), policy('b', 2)]);
    expect([...both.keys()]).toEqual(['clusterwide-a']);
    const v2 = await version();
    expect(v2).not.toBe(v1);
    answer = { ...answer, resourceVersion: v2 };
    expect([...(await s.apply([], [policy('a', 1), policy('b', 2)])).keys()]).toEqual([
      'clusterwide-a',
      'clusterwide-b',
    ]);

    // a changes: the v2 report is about its previous entry.
    expect([...(await s.apply([], [policy('a', 9), policy('b', 2)])).keys()]).toEqual([
      'clusterwide-b',
    ]);
    answer = undefined;
    expect(await s.apply([], [policy('a', 9), policy('b', 2)])).toEqual(new Map());
    // A server that does not name its version is believed.
    answer = { states: new Map([['clusterwide-a', active]]) };
    expect([...(await s.apply([], [policy('a', 9)])).keys()]).toEqual(['clusterwide-a']);
  });
});

describe('PolicyServer objects the spec no longer wants', () => {
  it('deletes its PodDisruptionBudget, never a ServiceAccount of the user', async () => {
    await api.request('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'policy-server-custom' },
    });
    await api.request('POST', `${GROUP}/policyservers`, {
      apiVersion: 'policies.palisade.dev/v1',
      kind: 'PolicyServer',
      metadata: { name: 'custom' },
      spec: {
        image: 'x',
        replicas: 2,
        minAvailable: 1,
        serviceAccountName: 'policy-server-custom',
      },
    });
    await reconcile();
    const pdb = `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/policy-server-custom`;
    expect(await find(api, pdb)).toBeDefined();
    await update(api, `${GROUP}/policyservers/custom`, (spec) => {
      delete spec['minAvailable'];
    });
    await reconcile();
    expect(await find(api, pdb)).toBeUndefined();
    expect(
      await find(api, `/api/v1/namespaces/${NS}/serviceaccounts/policy-server-custom`),
    ).toBeDefined();
    const conditions = (await find(api, `${GROUP}/policyservers/custom`))?.status?.conditions ?? [];
    expect(conditions.every((c) => c.status === 'True')).toBe(true);
  });

  it('reports a spec it cannot render in the conditions, and serves nothing for it', async () => {
    const name = `x${'a'.repeat(49)}`;
    await api.request('POST', `${GROUP}/policyservers`, {
      apiVersion: 'policies.palisade.dev/v1',
      kind: 'PolicyServer',
      metadata: { name },
      spec: { image: 'x', replicas: 1 },
    });
    await reconcile();
    const conditions =
      (await find(api, `${GROUP}/policyservers/${name}`))?.status?.conditions ?? [];
    const deployment = conditions.find((c) => c.type === 'DeploymentReconciled');
    expect(deployment).toMatchObject({ status: 'False', reason: 'ReconciliationFailed' });
    expect(deployment?.message).toContain('metadata.name');
    expect(await psController.sinkFor(name)?.apply([], [])).toEqual(new Map());
  });
});
