import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  createCertificateAuthority,
  issueServingCertificate,
  type CertificateAndKey,
} from '../../src/operator/pki.js';
import {
  FIELD_MANAGER,
  TLS_HASH_ANNOTATION,
  applyOrder,
  policyServerDeployment,
  policyServerDnsNames,
  policyServerResources,
  type AppliedObject,
  type PolicyServerContext,
  type PolicyServerInput,
  type PolicyServerSpecInput,
} from '../../src/operator/policy-server-resources.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube.js';

/**
 * The generated objects against a real kube-apiserver: created (not dry-run) and read back,
 * so the API server's validation and defaulting have the last word; then the way the
 * controller will write them, server-side apply, including what a no-op apply changes.
 */

const NS = 'palisade-system';
const GROUP = 'policies.palisade.dev';

/** Just enough of the CRD for PolicyServers to exist as owners (the real one is generated). */
const POLICY_SERVER_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `policyservers.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Cluster',
    names: { kind: 'PolicyServer', plural: 'policyservers', singular: 'policyserver' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        },
      },
    ],
  },
};

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

interface Identity {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

let cluster: KubeApiServer;
let admin: Identity;
let ca: CertificateAndKey;

/** Any request, any content type; never rejects on a status, so tests can assert 403s. */
function call(
  who: Identity,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Reply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${cluster.server}${path}`,
      {
        ...who,
        method,
        headers: payload === undefined ? {} : { 'content-type': contentType },
        timeout: 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: jsonOrText(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Errors such as a 404 before a CRD is served come as plain text. */
function jsonOrText(text: string): Record<string, unknown> {
  try {
    return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    return { text };
  }
}

async function ok(reply: Promise<Reply>): Promise<Record<string, unknown>> {
  const r = await reply;
  if (r.status < 200 || r.status >= 300) {
    throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  }
  return r.body;
}

const PLURALS: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Secret: 'secrets',
  ConfigMap: 'configmaps',
  Service: 'services',
  PodDisruptionBudget: 'poddisruptionbudgets',
  Deployment: 'deployments',
};

/** Collection path of a generated object (all are namespaced). */
function collection(o: AppliedObject): string {
  const apiVersion = o.apiVersion ?? '';
  const base = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
  return `${base}/namespaces/${o.metadata?.namespace ?? ''}/${PLURALS[o.kind ?? ''] ?? '?'}`;
}

const objectPath = (o: AppliedObject) => `${collection(o)}/${o.metadata?.name ?? ''}`;

/** Server-side apply as the controller: its field manager, taking over any conflict. */
async function apply<T extends AppliedObject>(o: T): Promise<T> {
  const path = `${objectPath(o)}?fieldManager=${FIELD_MANAGER}&force=true`;
  return (await ok(call(admin, 'PATCH', path, o, 'application/apply-patch+yaml'))) as T;
}

/** POSTs `o`, then reads it back as the API server stored it (defaults filled in). */
async function createAndRead<T extends AppliedObject>(o: T): Promise<T> {
  await ok(call(admin, 'POST', collection(o), o));
  return (await ok(call(admin, 'GET', objectPath(o)))) as T;
}

async function createPolicyServer(name: string, spec: PolicyServerSpecInput) {
  const created = await ok(
    call(admin, 'POST', `/apis/${GROUP}/v1/policyservers`, {
      apiVersion: `${GROUP}/v1`,
      kind: 'PolicyServer',
      metadata: { name },
      spec,
    }),
  );
  const metadata = created['metadata'] as { name: string; uid: string };
  return { metadata: { name: metadata.name, uid: metadata.uid }, spec } as PolicyServerInput;
}

async function contextFor(ps: PolicyServerInput): Promise<PolicyServerContext> {
  const serving = await issueServingCertificate(ca, {
    dnsNames: policyServerDnsNames(ps, NS),
    validityDays: 30,
    now: new Date(),
  });
  return {
    namespace: NS,
    defaultImage: 'ghcr.io/palisade/palisade:test',
    caBundle: ca.certPem,
    servingCertPem: serving.certPem,
    servingKeyPem: serving.keyPem,
    operatorLabels: { 'helm.sh/chart': 'palisade-0.1.0' },
    imagePullSecrets: ['ghcr-pull'],
  };
}

const FULL_SPEC: PolicyServerSpecInput = {
  image: 'ghcr.io/palisade/palisade:1.0.0',
  replicas: 3,
  minAvailable: '50%',
  annotations: { 'example.com/owner': 'security' },
  labels: { team: 'security' },
  env: [
    { name: 'PALISADE_LOG_LEVEL', value: 'debug' },
    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
  ],
  imagePullSecret: 'registry-creds',
  insecureSources: ['registry.local:5000'],
  sourceAuthorities: {
    'ghcr.local': ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'],
  },
  verificationConfig: 'verification',
  securityContexts: {
    container: {
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    pod: { runAsNonRoot: true, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
  },
  affinity: {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: 'kubernetes.io/hostname',
            labelSelector: { matchLabels: { 'app.kubernetes.io/instance': 'full' } },
          },
        },
      ],
    },
  },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'policy', effect: 'NoSchedule' }],
  priorityClassName: 'system-cluster-critical',
  limits: { cpu: '2', memory: '1Gi' },
  requests: { cpu: '500m', memory: '256Mi' },
  webhookPort: 9443,
  metricsPort: 8080,
};

beforeAll(async () => {
  cluster = await startKubeApiServer();
  admin = { ca: cluster.caPem, cert: cluster.adminCertPem, key: cluster.adminKeyPem };
  ca = await createCertificateAuthority({
    commonName: 'palisade-test-ca',
    validityDays: 30,
    now: new Date(),
  });
  await ok(
    call(admin, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS },
    }),
  );
  await ok(
    call(
      admin,
      'POST',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      POLICY_SERVER_CRD,
    ),
  );
  // The CRD serves once it is Established; until then its paths answer 404.
  for (
    let i = 0;
    (await call(admin, 'GET', `/apis/${GROUP}/v1/policyservers`)).status !== 200;
    i++
  ) {
    if (i > 100) throw new Error('the PolicyServer CRD never became Established');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 120_000);

afterAll(async () => {
  await cluster.stop();
});

/** A client certificate for `user` from the test cluster's CA (RBAC sees the CN and O). */
async function identity(user: string, groups: string[]): Promise<Identity> {
  const doc = parse(await readFile(await cluster.userKubeconfig(user, groups), 'utf8')) as {
    users: [{ user: Record<string, string> }];
  };
  const creds = doc.users[0].user;
  const decode = (field: string) => Buffer.from(creds[field] ?? '', 'base64').toString('utf8');
  return {
    ca: cluster.caPem,
    cert: decode('client-certificate-data'),
    key: decode('client-key-data'),
  };
}

/** The status of a watch request, closed as soon as the server has answered. */
function watchStatus(who: Identity, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(`${cluster.server}${path}`, { ...who, timeout: 20_000 }, (res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
      req.destroy();
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ECONNRESET') reject(e);
    });
  });
}

describe('generated objects on a real API server', () => {
  it('creates every object of a PolicyServer using every field, and reads it back', async () => {
    const ps = await createPolicyServer('full', FULL_SPEC);
    const resources = policyServerResources(ps, await contextFor(ps), '{}');
    expect(applyOrder(resources).map((o) => o.kind)).toEqual([
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'Secret',
      'ConfigMap',
      'Service',
      'PodDisruptionBudget',
      'Deployment',
    ]);
    const live: AppliedObject[] = [];
    for (const o of applyOrder(resources)) live.push(await createAndRead(o));
    for (const o of live) {
      expect(o.metadata?.ownerReferences, o.kind).toEqual([
        {
          apiVersion: `${GROUP}/v1`,
          kind: 'PolicyServer',
          name: 'full',
          uid: ps.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(o.metadata?.labels?.['policies.palisade.dev/policy-server']).toBe('full');
    }
    const [, , binding, secret, configMap, service, pdb, deployment] = live as [
      unknown,
      unknown,
      typeof resources.roleBinding,
      typeof resources.secret,
      typeof resources.configMap,
      typeof resources.service,
      NonNullable<typeof resources.podDisruptionBudget>,
      typeof resources.deployment,
    ];
    expect(binding.subjects?.[0]?.name).toBe('policy-server-full');
    const pod = deployment.spec?.template.spec;
    const container = pod?.containers[0];
    expect(container?.args).toEqual(resources.deployment.spec?.template.spec?.containers[0]?.args);
    expect(container?.readinessProbe?.httpGet).toEqual({
      path: '/readiness',
      port: 'https',
      scheme: 'HTTPS',
    });
    expect(container?.lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    expect(container?.env?.map((e) => e.name)).toEqual([
      'PALISADE_CACHE_DIR',
      'PALISADE_LOG_LEVEL',
      'NODE_NAME',
    ]);
    expect(container?.env?.[2]?.valueFrom).toEqual({
      fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' },
    });
    expect(container?.resources).toEqual({
      limits: { cpu: '2', memory: '1Gi' },
      requests: { cpu: '500m', memory: '256Mi' },
    });
    expect(pod?.volumes?.map((v) => v.name)).toEqual([
      'pki',
      'tmp',
      'sources',
      'verification',
      'docker-config',
    ]);
    expect(pod?.affinity).toEqual(FULL_SPEC.affinity);
    expect(pod?.priorityClassName).toBe('system-cluster-critical');
    expect(deployment.spec?.template.metadata?.labels?.['team']).toBe('security');
    expect(service.spec?.ports).toEqual([
      { name: 'policy-server', port: 443, targetPort: 'https', protocol: 'TCP' },
      { name: 'metrics', port: 8080, targetPort: 'https', protocol: 'TCP' },
    ]);
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(pdb.spec?.minAvailable).toBe('50%');
    expect(parse(configMap.data?.['sources.yml'] ?? '')).toMatchObject({
      insecure_sources: ['registry.local:5000'],
    });
  });

  it('creates the minimal variant: the user ServiceAccount bound to the Role, maxUnavailable', async () => {
    const ps = await createPolicyServer('minimal', {
      image: '',
      replicas: 1,
      serviceAccountName: 'context-reader',
      maxUnavailable: 1,
    });
    const resources = policyServerResources(ps, await contextFor(ps), '{}');
    for (const o of applyOrder(resources)) await createAndRead(o);
    const binding = (await ok(
      call(admin, 'GET', objectPath(resources.roleBinding)),
    )) as typeof resources.roleBinding;
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'context-reader', namespace: NS },
    ]);
    const d = (await ok(
      call(admin, 'GET', objectPath(resources.deployment)),
    )) as typeof resources.deployment;
    expect(d.spec?.template.spec?.serviceAccountName).toBe('context-reader');
    expect(d.spec?.template.spec?.containers[0]?.image).toBe('ghcr.io/palisade/palisade:test');
    expect(resources.unwanted.map((r) => r.kind)).toEqual(['ServiceAccount']);
  });
});

describe('why PolicyServer names stop at 49 characters', () => {
  it('the API server refuses a Service named policy-server-<50 characters>', async () => {
    const service = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `policy-server-${name}` },
      spec: { ports: [{ port: 443 }] },
    });
    const services = `/api/v1/namespaces/${NS}/services`;
    expect((await call(admin, 'POST', services, service('a'.repeat(49)))).status).toBe(201);
    const refused = await call(admin, 'POST', services, service('a'.repeat(50)));
    expect(refused.status).toBe(422);
    expect(String(refused.body['message'])).toContain('must be no more than 63 characters');
  });
});

describe('server-side apply as the controller does it', () => {
  it('converges: a re-apply changes nothing, a rotation rolls, removed fields go away', async () => {
    const ps = await createPolicyServer('applied', {
      ...FULL_SPEC,
      minAvailable: 1,
      annotations: { 'example.com/owner': 'security', 'example.com/temporary': 'yes' },
    });
    const ctx = await contextFor(ps);
    const first = policyServerResources(ps, ctx, 'policies: 1');
    const versions: (string | undefined)[] = [];
    for (const o of applyOrder(first)) versions.push((await apply(o)).metadata?.resourceVersion);
    // Same desired state again: no object changes, so no watcher wakes and nothing rolls.
    const again = applyOrder(policyServerResources(ps, ctx, 'policies: 1'));
    for (const [i, o] of again.entries()) {
      expect((await apply(o)).metadata?.resourceVersion, o.kind).toBe(versions[i]);
    }
    // A policy change touches the ConfigMap only; the Deployment is not even different.
    const changed = policyServerResources(ps, ctx, 'policies: 2');
    expect(changed.deployment).toEqual(first.deployment);
    expect((await apply(changed.configMap)).data?.['policies.yml']).toBe('policies: 2');
    const before = await apply(first.deployment);
    // A certificate rotation changes the template: a new rollout.
    const rotated = policyServerDeployment(ps, await contextFor(ps));
    const rolled = await apply(rotated);
    expect(rolled.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1);
    expect(rolled.spec?.template.metadata?.annotations?.[TLS_HASH_ANNOTATION]).toBe(
      rotated.spec?.template.metadata?.annotations?.[TLS_HASH_ANNOTATION],
    );
    // An annotation dropped from the spec is removed: apply owns what it sent before.
    const without = policyServerDeployment(
      { ...ps, spec: { ...ps.spec, annotations: { 'example.com/owner': 'security' } } },
      ctx,
    );
    const pruned = await apply(without);
    expect(pruned.metadata?.annotations).toEqual({ 'example.com/owner': 'security' });
    expect(pruned.spec?.template.metadata?.annotations).not.toHaveProperty('example.com/temporary');
    expect(pruned.metadata?.managedFields?.map((m) => m.manager)).toEqual([FIELD_MANAGER]);
  });
});

describe('the Role as the policy server will use it', () => {
  it('lets the pods read and watch their ConfigMap by name, and nothing else', async () => {
    const ps = await createPolicyServer('rbac', { image: 'x', replicas: 1 });
    const resources = policyServerResources(ps, await contextFor(ps), '{}');
    for (const o of applyOrder(resources)) await apply(o);
    await ok(
      call(admin, 'POST', `/api/v1/namespaces/${NS}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'someone-else' },
      }),
    );
    // What the pods authenticate as: the ServiceAccount's user name and groups.
    const pod = await identity(`system:serviceaccount:${NS}:policy-server-rbac`, [
      'system:serviceaccounts',
      `system:serviceaccounts:${NS}`,
    ]);
    const configMaps = `/api/v1/namespaces/${NS}/configmaps`;
    const byName = `fieldSelector=${encodeURIComponent('metadata.name=policy-server-rbac')}`;
    expect((await call(pod, 'GET', `${configMaps}/policy-server-rbac`)).status).toBe(200);
    const list = await call(pod, 'GET', `${configMaps}?${byName}`);
    expect(list.status).toBe(200);
    const items = list.body['items'] as { metadata: { name: string } }[];
    expect(items.map((i) => i.metadata.name)).toEqual(['policy-server-rbac']);
    expect(await watchStatus(pod, `${configMaps}?watch=true&${byName}`)).toBe(200);
    // Without the field selector the request is for every ConfigMap: refused.
    expect((await call(pod, 'GET', configMaps)).status).toBe(403);
    expect(await watchStatus(pod, `${configMaps}?watch=true`)).toBe(403);
    expect((await call(pod, 'GET', `${configMaps}/someone-else`)).status).toBe(403);
    expect(
      (await call(pod, 'GET', `/api/v1/namespaces/${NS}/secrets/policy-server-rbac`)).status,
    ).toBe(403);
    expect(
      (await call(pod, 'PUT', `${configMaps}/policy-server-rbac`, resources.configMap)).status,
    ).toBe(403);
  });
});
