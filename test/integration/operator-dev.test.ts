import { readFile, readdir } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { RegistryClient } from '../../src/oci/client.js';
import { pushModule } from '../../src/oci/push.js';
import { parseImageReference } from '../../src/oci/reference.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startDev } from './support/cli.js';
import { eventually } from './support/operator-cluster.js';

/**
 * The operator end to end on a real kube-apiserver and etcd: `palisade dev` runs the controller
 * and a policy server on this machine, registers webhooks by URL, and the API server itself
 * calls them. Every admission below is decided by the API server (dry-run creates), not by a
 * call to the policy server from the test.
 */
const CRDS = join(import.meta.dirname, '../../crds');
const BUILD = join(import.meta.dirname, '../fixtures/wasm/build');
const REQUESTS = join(import.meta.dirname, '../fixtures/wasm/c/requests');
const GROUP = '/apis/policies.palisade.dev/v1';

let kube: KubeApiServer;
let registry: TestRegistry;
let dev: Awaited<ReturnType<typeof startDev>>;

async function installCrds(): Promise<void> {
  for (const file of (await readdir(CRDS)).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(await readFile(join(CRDS, file), 'utf8'))) {
      const crd = doc.toJS() as { metadata: { name: string } };
      await kube.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      await eventually(`CRD ${crd.metadata.name}`, async () => {
        const got = (await kube.request(
          'GET',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        )) as { status?: { conditions?: { type: string; status: string }[] } };
        const ok = got.status?.conditions?.some(
          (c) => c.type === 'Established' && c.status === 'True',
        );
        return ok === true ? true : undefined;
      });
    }
  }
}

const DEPLOYMENT_RULES = [
  {
    apiGroups: ['apps'],
    apiVersions: ['v1'],
    resources: ['deployments'],
    operations: ['CREATE', 'UPDATE'],
  },
];

function replicaPolicy(max: number, mode: 'protect' | 'monitor', name = 'replica-limit') {
  return {
    apiVersion: 'policies.palisade.dev/v1',
    kind: 'ClusterAdmissionPolicy',
    metadata: { name },
    spec: {
      module: 'builtin://cel',
      mode,
      mutating: false,
      rules: DEPLOYMENT_RULES,
      settings: {
        variables: [{ name: 'replicas', expression: 'object.spec.replicas' }],
        validations: [
          {
            expression: `variables.replicas <= ${String(max)}`,
            message: `at most ${String(max)} replicas`,
          },
        ],
      },
    },
  };
}

/** A dry-run create: the API server runs admission (webhooks included) and stores nothing. */
async function admit(namespace: string, replicas: number): Promise<string> {
  const name = `web-${String(replicas)}`;
  try {
    await kube.request('POST', `/apis/apps/v1/namespaces/${namespace}/deployments?dryRun=All`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] },
        },
      },
    });
    return 'admitted';
  } catch (e) {
    return String(e);
  }
}

async function policy(path: string) {
  return (await kube.request('GET', path)) as {
    metadata: { generation: number };
    status?: {
      policyStatus?: string;
      mode?: string;
      loadError?: string;
      observedGeneration?: number;
    };
  };
}

/** Read, change, replace: what `kubectl edit` does (the test helper sends JSON bodies only). */
async function update(
  path: string,
  change: (spec: Record<string, unknown>) => void,
): Promise<void> {
  const current = (await kube.request('GET', path)) as { spec: Record<string, unknown> };
  change(current.spec);
  await kube.request('PUT', path, current);
}

/** Waits until the operator reports the current generation as active. */
async function active(path: string) {
  return eventually(`${path} active`, async () => {
    const p = await policy(path);
    return p.status?.policyStatus === 'active' &&
      p.status.observedGeneration === p.metadata.generation
      ? p
      : undefined;
  });
}

function metrics(url: string): Promise<string> {
  // The dev CA lives only in the dev process; the metrics text is all this reads.
  return new Promise((resolve, reject) => {
    httpsRequest(`${url}/metrics`, { rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        resolve(body);
      });
    })
      .on('error', reject)
      .end();
  });
}

beforeAll(async () => {
  [kube, registry] = await Promise.all([startKubeApiServer(), startRegistry()]);
  await installCrds();
  for (const ns of ['team-a', 'team-b']) {
    await kube.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    });
  }
  dev = await startDev(
    kube.kubeconfigPath,
    '--namespace',
    'palisade-system',
    '--resync-seconds',
    '2',
  );
}, 120_000);

afterAll(async () => {
  const started = Date.now();
  const code = await dev.stop();
  process.stdout.write(
    `palisade dev stopped in ${String(Date.now() - started)} ms, exit ${String(code)}\n`,
  );
  await Promise.all([kube.stop(), registry.stop()]);
}, 60_000);

describe('palisade dev against a real API server', () => {
  const path = `${GROUP}/clusteradmissionpolicies/replica-limit`;

  it('enforces a CEL policy: monitor admits and counts, protect rejects with its message', async () => {
    await kube.request('POST', `${GROUP}/clusteradmissionpolicies`, replicaPolicy(5, 'monitor'));
    const observed = await active(path);
    expect(observed.status?.mode).toBe('monitor');
    expect(await admit('default', 6)).toBe('admitted');
    expect(await metrics(dev.url)).toMatch(
      /palisade_policy_evaluations_total\{[^}]*policy_name="clusterwide-replica-limit"[^}]*policy_mode="monitor"[^}]*accepted="false"/,
    );

    await update(path, (spec) => {
      spec['mode'] = 'protect';
    });
    await active(path);
    const denied = await admit('default', 6);
    expect(denied).toContain('denied the request: at most 5 replicas');
    expect(await admit('default', 3)).toBe('admitted');
  });

  it('hot-reloads a changed policy without restarting anything', async () => {
    const started = Date.now();
    await update(path, (spec) => {
      spec['settings'] = replicaPolicy(10, 'protect').spec.settings;
    });
    await eventually('6 replicas admitted', async () =>
      (await admit('default', 6)) === 'admitted' ? true : undefined,
    );
    process.stdout.write(
      `hot reload: enforced ${String(Date.now() - started)} ms after the update\n`,
    );
    expect(await admit('default', 11)).toContain('at most 10 replicas');
  });

  it('answers every admission request while policies are swapped under load', async () => {
    const outcomes = { admitted: 0, denied: 0, failed: [] as string[] };
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        const answer = await admit('default', 7);
        if (answer === 'admitted') outcomes.admitted++;
        else if (/denied the request: at most \d+ replicas/.test(answer)) outcomes.denied++;
        else outcomes.failed.push(answer);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (const max of [5, 10, 6, 10, 5, 10]) {
      await update(path, (spec) => {
        spec['settings'] = replicaPolicy(max, 'protect').spec.settings;
      });
      await active(path);
      await new Promise((r) => setTimeout(r, 300));
    }
    running = false;
    await Promise.all(workers);
    process.stdout.write(
      `swaps under load: ${String(outcomes.admitted)} admitted, ${String(outcomes.denied)} denied, ${String(outcomes.failed.length)} failed\n`,
    );
    expect(outcomes.failed).toEqual([]);
    expect(outcomes.admitted).toBeGreaterThan(0);
    expect(outcomes.denied).toBeGreaterThan(0);
  });

  it('shows a broken policy’s error in its status and keeps the others working', async () => {
    const broken = replicaPolicy(1, 'protect', 'broken');
    broken.spec.settings.validations[0] = { expression: 'variables.replicas <=', message: 'x' };
    await kube.request('POST', `${GROUP}/clusteradmissionpolicies`, broken);
    const status = await eventually('a load error', async () => {
      const p = await policy(`${GROUP}/clusteradmissionpolicies/broken`);
      return p.status?.loadError !== undefined ? p.status : undefined;
    });
    expect(status.policyStatus).toBe('pending');
    expect(status.loadError).toContain('spec.settings.validations[0].expression');
    await expect(
      kube.request(
        'GET',
        '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/clusterwide-broken',
      ),
    ).rejects.toThrow(/not found/);
    expect(await admit('default', 3)).toBe('admitted');
    expect(await admit('default', 11)).toContain('at most 10 replicas');
    await kube.request('DELETE', `${GROUP}/clusteradmissionpolicies/broken`);
  });

  it('puts back a webhook configuration deleted by hand', async () => {
    const webhook =
      '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/clusterwide-replica-limit';
    await kube.request('DELETE', webhook);
    await eventually(
      'the webhook back',
      async () => (await kube.request('GET', webhook)) ?? undefined,
    );
  });

  it('confines an AdmissionPolicy to its namespace', async () => {
    // Another policy server name: dev mode serves every policy from its one local server.
    const base = replicaPolicy(1, 'protect', 'one-replica');
    const namespaced = {
      ...base,
      kind: 'AdmissionPolicy',
      spec: { ...base.spec, policyServer: 'tenants' },
    };
    await kube.request('POST', `${GROUP}/namespaces/team-a/admissionpolicies`, namespaced);
    await active(`${GROUP}/namespaces/team-a/admissionpolicies/one-replica`);
    expect(await admit('team-a', 2)).toContain('at most 1 replicas');
    expect(await admit('team-b', 2)).toBe('admitted');
  });

  it('serves a WebAssembly policy pulled from the registry: a privileged Pod is rejected', async () => {
    const ref = parseImageReference(`${registry.host}/policies/pod-guard:v1`);
    await pushModule(
      new RegistryClient({ now: Date.now }),
      new Uint8Array(await readFile(join(BUILD, 'c-wapc.wasm'))),
      ref,
      { where: 'c-wapc.wasm' },
    );
    await kube.request('POST', `${GROUP}/clusteradmissionpolicies`, {
      apiVersion: 'policies.palisade.dev/v1',
      kind: 'ClusterAdmissionPolicy',
      metadata: { name: 'pod-guard' },
      spec: {
        module: `registry://${registry.host}/policies/pod-guard:v1`,
        mutating: false,
        rules: [
          { apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] },
        ],
        settings: { denied_names: ['forbidden-pod'] },
      },
    });
    await active(`${GROUP}/clusteradmissionpolicies/pod-guard`);
    const review = JSON.parse(
      await readFile(join(REQUESTS, 'pod-privileged-container.json'), 'utf8'),
    ) as {
      request: { object: { metadata: Record<string, unknown> } };
    };
    const pod = review.request.object;
    pod.metadata = { name: 'nsenter' };
    await expect(
      kube.request('POST', '/api/v1/namespaces/default/pods?dryRun=All', pod),
    ).rejects.toThrow(/denied the request: container '.+' must not be privileged/);
  });

  it('removes the webhook configuration of a deleted policy', async () => {
    await kube.request('DELETE', path);
    await eventually('the webhook gone', async () => {
      try {
        await kube.request(
          'GET',
          '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/clusterwide-replica-limit',
        );
        return undefined;
      } catch (e) {
        return /not found/.test(String(e)) ? true : undefined;
      }
    });
    expect(await admit('default', 11)).toBe('admitted');
  });
});
