import { readdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  AdmissionPolicySpec,
  ClusterAdmissionPolicyGroupSpec,
  ClusterAdmissionPolicySpec,
  PolicyServerSpec,
  PolicyStatus,
} from '../../src/api/policies/v1.js';
import { schemaErrors } from '../../src/shared/schema-errors.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube.js';

/**
 * The committed crds/ against a real kube-apiserver: it must accept them (structural schema,
 * CEL cost limits), apply their defaults, and enforce their CEL rules, so these hold even with
 * the operator down.
 */

const CRDS_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));
const CRD_API = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const API = '/apis/policies.palisade.dev/v1';
const CAP = `${API}/clusteradmissionpolicies`;
const CAPG = `${API}/clusteradmissionpolicygroups`;
const PS = `${API}/policyservers`;

type Obj = Record<string, unknown> & {
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
};

let cluster: KubeApiServer;

beforeAll(async () => {
  cluster = await startKubeApiServer();
  const files = readdirSync(CRDS_DIR).filter((f) => f.endsWith('.yaml'));
  expect(files).toHaveLength(5);
  for (const f of files) {
    await cluster.request('POST', CRD_API, parse(readFileSync(join(CRDS_DIR, f), 'utf8')));
  }
  for (const f of files) await established(f.replace(/\.yaml$/, ''));
}, 180_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

async function established(name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const crd = (await cluster.request('GET', `${CRD_API}/${name}`)) as {
      status?: { conditions?: { type: string; status: string }[] };
    };
    const ok = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    if (ok === true) return;
    if (Date.now() > deadline) throw new Error(`${name} never became Established`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const get = async (path: string) => (await cluster.request('GET', path)) as Obj;
const create = async (path: string, body: unknown) =>
  (await cluster.request('POST', path, body)) as Obj;

/**
 * The API server's refusal of `promise`: HTTP status and the Status message (field paths and
 * rule messages, unescaped), or a test failure when it was accepted.
 */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const e: unknown = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof Error)) throw new Error('expected the API server to refuse');
  const match = /^\S+ \S+: (\d+) (.*)$/s.exec(e.message);
  if (match === null) throw e;
  const status = JSON.parse(match[2] ?? '') as { message: string };
  return `${match[1] ?? ''} ${status.message}`;
}

/** A JSON merge patch as admin (the shared helper only sends application/json). */
function mergePatch(path: string, body: unknown): Promise<Obj> {
  const tls = { ca: cluster.caPem, cert: cluster.adminCertPem, key: cluster.adminKeyPem };
  const headers = { 'Content-Type': 'application/merge-patch+json' };
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${cluster.server}${path}`,
      { ...tls, method: 'PATCH', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(JSON.parse(text) as Obj);
          else reject(new Error(`PATCH ${path}: ${String(res.statusCode)} ${text}`));
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const RULES = [
  { apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] },
];

function cap(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'policies.palisade.dev/v1',
    kind: 'ClusterAdmissionPolicy',
    metadata: { name },
    spec: {
      module: 'registry://ghcr.io/kubewarden/policies/pod-privileged:v1.0.0',
      rules: RULES,
      mutating: false,
      ...spec,
    },
  };
}

function capg(name: string, policies: Record<string, unknown>, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'policies.palisade.dev/v1',
    kind: 'ClusterAdmissionPolicyGroup',
    metadata: { name },
    spec: { rules: RULES, expression: 'a()', message: 'no', policies, ...spec },
  };
}

describe('CRDs', () => {
  it('are served with their short names, scopes and printer columns', async () => {
    const crd = (await cluster.request(
      'GET',
      `${CRD_API}/clusteradmissionpolicies.policies.palisade.dev`,
    )) as {
      spec: {
        names: { shortNames: string[] };
        scope: string;
        versions: { additionalPrinterColumns: { name: string }[] }[];
      };
    };
    expect(crd.spec.names.shortNames).toEqual(['cap']);
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.versions[0]?.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Policy Server',
      'Mutating',
      'BackgroundAudit',
      'Mode',
      'Observed mode',
      'Status',
      'Age',
      'Severity',
      'Category',
    ]);
    const resources = (await cluster.request('GET', API)) as {
      resources: { name: string; namespaced: boolean; shortNames?: string[] }[];
    };
    const top = resources.resources.filter((r) => !r.name.includes('/'));
    expect(top.map((r) => [r.name, r.namespaced, r.shortNames]).sort()).toEqual([
      ['admissionpolicies', true, ['ap']],
      ['admissionpolicygroups', true, ['apg']],
      ['clusteradmissionpolicies', false, ['cap']],
      ['clusteradmissionpolicygroups', false, ['capg']],
      ['policyservers', false, ['ps']],
    ]);
    expect(resources.resources.map((r) => r.name)).toContain('clusteradmissionpolicies/status');
  });
});

describe('ClusterAdmissionPolicy', () => {
  it('gets Kubewarden defaults, and what the API server stores still passes the engine schema', async () => {
    const created = await create(CAP, cap('defaults'));
    expect(created.spec).toMatchObject({
      policyServer: 'default',
      mode: 'protect',
      backgroundAudit: true,
      timeoutSeconds: 10,
    });
    const read = await get(`${CAP}/defaults`);
    expect(read.spec['policyServer']).toBe('default');
    expect(schemaErrors(ClusterAdmissionPolicySpec, read.spec, 'spec')).toEqual([]);
  });

  it('keeps free-form settings as written and prunes unknown fields', async () => {
    const settings = { list: [1, 'two', { three: null }], nested: { deep: { x: true } } };
    const created = await create(CAP, cap('settings', { settings, bogus: 1 }));
    expect(created.spec['settings']).toEqual(settings);
    expect(created.spec).not.toHaveProperty('bogus');
  });

  it('refuses timeoutEvalSeconds above timeoutSeconds', async () => {
    const message = await refusal(
      create(CAP, cap('slow', { timeoutSeconds: 10, timeoutEvalSeconds: 20 })),
    );
    expect(message).toContain('422');
    expect(message).toContain('timeoutEvalSeconds must be less than or equal to timeoutSeconds');
    await create(CAP, cap('equal', { timeoutSeconds: 10, timeoutEvalSeconds: 10 }));
  });

  it('refuses timeoutEvalSeconds above the default timeoutSeconds', async () => {
    const message = await refusal(create(CAP, cap('slow-default', { timeoutEvalSeconds: 20 })));
    expect(message).toContain('timeoutEvalSeconds must be less than or equal to timeoutSeconds');
  });

  it('refuses an unknown mode', async () => {
    const message = await refusal(create(CAP, cap('bad-mode', { mode: 'enforce' })));
    expect(message).toContain('422');
    expect(message).toContain('spec.mode');
    expect(message).toContain('Unsupported value: "enforce"');
  });

  it('refuses a change of policyServer', async () => {
    await create(CAP, cap('pinned', { policyServer: 'one' }));
    const message = await refusal(mergePatch(`${CAP}/pinned`, { spec: { policyServer: 'two' } }));
    expect(message).toContain('policyServer is immutable');
    const put = await get(`${CAP}/pinned`);
    put.spec['policyServer'] = 'two';
    expect(await refusal(cluster.request('PUT', `${CAP}/pinned`, put))).toContain(
      'policyServer is immutable',
    );
    // Removing the field re-applies the default, which is a change too.
    expect(await refusal(mergePatch(`${CAP}/pinned`, { spec: { policyServer: null } }))).toContain(
      'policyServer is immutable',
    );
  });

  it('refuses protect → monitor and allows monitor → protect', async () => {
    await create(CAP, cap('enforcing'));
    const message = await refusal(mergePatch(`${CAP}/enforcing`, { spec: { mode: 'monitor' } }));
    expect(message).toContain(
      'changing mode from protect to monitor is not allowed; recreate the policy instead',
    );
    await create(CAP, cap('watching', { mode: 'monitor' }));
    const patched = await mergePatch(`${CAP}/watching`, { spec: { mode: 'protect' } });
    expect(patched.spec['mode']).toBe('protect');
  });

  it('allows other changes', async () => {
    await create(CAP, cap('editable'));
    const patched = await mergePatch(`${CAP}/editable`, {
      spec: { backgroundAudit: false, timeoutSeconds: 20 },
    });
    expect(patched.spec).toMatchObject({
      backgroundAudit: false,
      timeoutSeconds: 20,
      policyServer: 'default',
    });
  });
});

describe('status subresource', () => {
  const status = {
    policyStatus: 'pending',
    mode: 'protect',
    loadError: 'module download failed: 404',
    conditions: [
      {
        type: 'PolicyActive',
        status: 'False',
        reason: 'PolicyServerNotReady',
        message: 'waiting for the policy server',
        lastTransitionTime: '2025-01-02T03:04:05Z',
      },
    ],
  };

  it('takes a merge patch and a PUT, and the main resource ignores status', async () => {
    const created = await create(CAP, { ...cap('with-status'), status });
    expect(created.status).toBeUndefined();
    const patched = await mergePatch(`${CAP}/with-status/status`, { status });
    expect(patched.status).toEqual(status);
    expect(schemaErrors(PolicyStatus, patched.status, 'status')).toEqual([]);
    const put = await get(`${CAP}/with-status`);
    put.status = { policyStatus: 'active', mode: 'protect' };
    const replaced = (await cluster.request('PUT', `${CAP}/with-status/status`, put)) as Obj;
    expect(replaced.status).toEqual({ policyStatus: 'active', mode: 'protect' });
    expect((await get(`${CAP}/with-status`)).status).toEqual({
      policyStatus: 'active',
      mode: 'protect',
    });
  });

  it('refuses a status outside the schema', async () => {
    await create(CAP, cap('bad-status'));
    const bad = await refusal(
      mergePatch(`${CAP}/bad-status/status`, { status: { policyStatus: 'running' } }),
    );
    expect(bad).toContain('Unsupported value: "running"');
    const noReason = await refusal(
      mergePatch(`${CAP}/bad-status/status`, {
        status: {
          conditions: [
            { type: 'PolicyActive', status: 'True', message: '', lastTransitionTime: 'yesterday' },
          ],
        },
      }),
    );
    expect(noReason).toContain('reason');
    expect(noReason).toContain('lastTransitionTime');
  });
});

describe('ClusterAdmissionPolicyGroup', () => {
  const member = { module: 'registry://ghcr.io/kubewarden/policies/safe-labels:v1.0.0' };

  it('accepts identifier member names', async () => {
    const created = await create(
      CAPG,
      capg('ok', { a: member, _b2: { ...member, timeoutEvalSeconds: 5 } }),
    );
    expect(created.spec).toMatchObject({
      policyServer: 'default',
      mode: 'protect',
      timeoutSeconds: 10,
    });
    expect(schemaErrors(ClusterAdmissionPolicyGroupSpec, created.spec, 'spec')).toEqual([]);
  });

  it.each(['in', 'while', '1abc', 'a-b'])('refuses a member named %s', async (name) => {
    const message = await refusal(
      create(
        CAPG,
        capg(`bad-${String(name.length)}-${name.replace(/\W/g, 'x')}`, { [name]: member }),
      ),
    );
    expect(message).toContain('422');
    expect(message).toMatch(/policy names in a group must (match|not be reserved words)/);
  });

  it("refuses a member timeoutEvalSeconds above the group's timeoutSeconds", async () => {
    const message = await refusal(
      create(
        CAPG,
        capg('slow', { a: { ...member, timeoutEvalSeconds: 20 } }, { timeoutSeconds: 10 }),
      ),
    );
    expect(message).toContain(
      "each member's timeoutEvalSeconds must be less than or equal to the group's timeoutSeconds",
    );
  });

  it('refuses protect → monitor for groups too', async () => {
    await create(CAPG, capg('strict', { a: member }));
    const message = await refusal(mergePatch(`${CAPG}/strict`, { spec: { mode: 'monitor' } }));
    expect(message).toContain('changing mode from protect to monitor is not allowed');
  });
});

describe('namespaced kinds', () => {
  beforeAll(async () => {
    await cluster.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team-a' },
    });
  });

  it('creates an AdmissionPolicy in a namespace', async () => {
    const path = `${API}/namespaces/team-a/admissionpolicies`;
    const created = await create(path, { ...cap('local'), kind: 'AdmissionPolicy' });
    expect(created.metadata['namespace']).toBe('team-a');
    expect(created.spec).toMatchObject({
      policyServer: 'default',
      mode: 'protect',
      backgroundAudit: true,
    });
    expect(schemaErrors(AdmissionPolicySpec, created.spec, 'spec')).toEqual([]);
    const message = await refusal(
      create(path, { ...cap('local-slow', { timeoutEvalSeconds: 20 }), kind: 'AdmissionPolicy' }),
    );
    expect(message).toContain('timeoutEvalSeconds must be less than or equal to timeoutSeconds');
  });

  it('creates an AdmissionPolicyGroup in a namespace, with the same member name rules', async () => {
    const path = `${API}/namespaces/team-a/admissionpolicygroups`;
    const group = (policies: Record<string, unknown>, name: string) => ({
      ...capg(name, policies),
      kind: 'AdmissionPolicyGroup',
    });
    const created = await create(
      path,
      group({ signed: { module: 'registry://x/y:1' } }, 'local-group'),
    );
    expect(created.metadata['namespace']).toBe('team-a');
    expect(
      await refusal(create(path, group({ in: { module: 'registry://x/y:1' } }, 'bad'))),
    ).toContain('reserved words');
  });
});

describe('PolicyServer', () => {
  const ps = (name: string, spec: Record<string, unknown> = {}) => ({
    apiVersion: 'policies.palisade.dev/v1',
    kind: 'PolicyServer',
    metadata: { name },
    spec: { image: 'ghcr.io/palisade/policy-server:latest', replicas: 2, ...spec },
  });

  it('is created with its port defaults', async () => {
    const created = await create(
      PS,
      ps('default', {
        minAvailable: '50%',
        limits: { cpu: '500m', memory: '128Mi' },
        requests: { cpu: 1 },
        env: [{ name: 'LOG_LEVEL', value: 'debug' }],
        sourceAuthorities: { 'registry.local:5000': ['-----BEGIN CERTIFICATE-----'] },
        affinity: { nodeAffinity: { anything: ['kept'] } },
      }),
    );
    expect(created.spec).toMatchObject({
      webhookPort: 8443,
      readinessProbePort: 8081,
      minAvailable: '50%',
    });
    expect(created.spec['affinity']).toEqual({ nodeAffinity: { anything: ['kept'] } });
    expect(schemaErrors(PolicyServerSpec, created.spec, 'spec')).toEqual([]);
  });

  it('refuses what Kubewarden refuses', async () => {
    expect(await refusal(create(PS, ps('both', { minAvailable: 1, maxUnavailable: 1 })))).toContain(
      'minAvailable and maxUnavailable are mutually exclusive',
    );
    expect(await refusal(create(PS, ps('same-port', { readinessProbePort: 8443 })))).toContain(
      'readinessProbePort must differ from webhookPort',
    );
    expect(await refusal(create(PS, ps('x'.repeat(64))))).toContain('at most 63 characters');
    expect(await refusal(create(PS, ps('bad-quantity', { limits: { cpu: 'lots' } })))).toContain(
      'spec.limits.cpu',
    );
    expect(await refusal(create(PS, { ...ps('no-image'), spec: { replicas: 1 } }))).toContain(
      'spec.image',
    );
  });

  it('has a status subresource', async () => {
    await create(PS, ps('with-status'));
    const condition = {
      type: 'DeploymentReconciled',
      status: 'True',
      reason: 'ReconciliationSucceeded',
      message: '',
      lastTransitionTime: '2025-01-02T03:04:05Z',
    };
    const patched = await mergePatch(`${PS}/with-status/status`, {
      status: { conditions: [condition] },
    });
    expect(patched.status).toEqual({ conditions: [condition] });
  });
});
