import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKubernetesPort,
  KubernetesRequestError,
  type KubernetesClientPort,
} from '../../src/runtime/capabilities/kubernetes-client.js';
import type { ListQuery } from '../../src/runtime/capabilities/types.js';
import type { JsonObject } from '../../src/shared/admission.js';
import { isPalisadeError } from '../../src/shared/errors.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube.js';

let cluster: KubeApiServer;
let port: KubernetesClientPort;

function kubeConfigOf(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

const configMap = (namespace: string, name: string, app: string): Seed => [
  `/api/v1/namespaces/${namespace}/configmaps`,
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels: { app } },
    data: { owner: name },
  },
];

const pod = (namespace: string, name: string, app: string): Seed => [
  `/api/v1/namespaces/${namespace}/pods`,
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app } },
    spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }] },
  },
];

const namespace = (name: string): Seed => [
  '/api/v1/namespaces',
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
];

const RBAC = '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a';

/** Where to POST, and what. */
type Seed = readonly [string, JsonObject];

const SEED: Seed[] = [
  namespace('team-a'),
  namespace('team-b'),
  configMap('team-a', 'web-config', 'web'),
  configMap('team-a', 'db-config', 'db'),
  configMap('team-b', 'web-config', 'web'),
  pod('team-a', 'web-1', 'web'),
  pod('team-a', 'web-2', 'web'),
  pod('team-b', 'db-1', 'db'),
  [
    `${RBAC}/roles`,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'configmap-reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    },
  ],
  [
    `${RBAC}/rolebindings`,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'alice-reads-configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    },
  ],
];

beforeAll(async () => {
  cluster = await startKubeApiServer();
  // Seeded with raw admin requests, independent of the code under test.
  for (const [path, object] of SEED) await cluster.request('POST', path, object);
  port = createKubernetesPort({ kubeConfig: kubeConfigOf(cluster.kubeconfigPath) });
}, 180_000);

afterAll(async () => {
  port.close();
  await cluster.stop();
}, 30_000);

function names(list: JsonObject): string[] {
  const items = list['items'] as { metadata: { namespace?: string; name: string } }[];
  return items.map(({ metadata }) => `${metadata.namespace ?? ''}/${metadata.name}`).sort();
}

async function rejection(promise: Promise<unknown>): Promise<KubernetesRequestError> {
  const e: unknown = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isPalisadeError(e, 'kubernetes_request_failed')).toBe(true);
  expect(e).toBeInstanceOf(KubernetesRequestError);
  return e as KubernetesRequestError;
}

describe('list', () => {
  it('lists one namespace with a label selector', async () => {
    const list = await port.list({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'team-a',
      labelSelector: 'app=web',
    });
    expect(list['kind']).toBe('ConfigMapList');
    expect(names(list)).toEqual(['team-a/web-config']);
  });

  it('lists all namespaces, items carrying apiVersion and kind', async () => {
    const list = await port.list({ apiVersion: 'v1', kind: 'Pod' });
    expect(names(list)).toEqual(['team-a/web-1', 'team-a/web-2', 'team-b/db-1']);
    const items = list['items'] as JsonObject[];
    expect(items.every((i) => i['apiVersion'] === 'v1' && i['kind'] === 'Pod')).toBe(true);
    expect(typeof (list['metadata'] as JsonObject)['resourceVersion']).toBe('string');
  });

  it('applies label and field selectors across namespaces', async () => {
    const web = await port.list({ apiVersion: 'v1', kind: 'ConfigMap', labelSelector: 'app=web' });
    expect(names(web)).toEqual(['team-a/web-config', 'team-b/web-config']);
    const one = await port.list({
      apiVersion: 'v1',
      kind: 'Pod',
      fieldSelector: 'metadata.name=web-2',
    });
    expect(names(one)).toEqual(['team-a/web-2']);
  });

  it('returns objects as stored, timestamps as strings', async () => {
    const list = await port.list({ apiVersion: 'v1', kind: 'Pod', namespace: 'team-b' });
    const metadata = (list['items'] as JsonObject[])[0]?.['metadata'] as JsonObject;
    expect(metadata['creationTimestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('follows continue tokens until the list is complete', async () => {
    const paged = createKubernetesPort({
      kubeConfig: kubeConfigOf(cluster.kubeconfigPath),
      pageSize: 1,
    });
    try {
      const list = await paged.list({ apiVersion: 'v1', kind: 'Pod' });
      expect(names(list)).toEqual(['team-a/web-1', 'team-a/web-2', 'team-b/db-1']);
    } finally {
      paged.close();
    }
  });

  it('lists cluster-scoped kinds of any group', async () => {
    const namespaces = await port.list({ apiVersion: 'v1', kind: 'Namespace' });
    expect(names(namespaces)).toEqual(expect.arrayContaining(['/team-a', '/team-b']));
    const roles = await port.list({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      namespace: 'team-a',
    });
    expect(names(roles)).toEqual(['team-a/configmap-reader']);
  });

  it('refuses a namespace for a cluster-scoped kind', async () => {
    const e = await rejection(port.list({ apiVersion: 'v1', kind: 'Namespace', namespace: 'x' }));
    expect(e.message).toContain('Namespace is cluster-scoped');
  });

  it('names an unknown kind or apiVersion', async () => {
    const kind = await rejection(port.list({ apiVersion: 'v1', kind: 'Gadget' }));
    expect(kind.message).toContain('v1 Gadget');
    const version = await rejection(
      port.list({ apiVersion: 'nowhere.example/v1', kind: 'Gadget' }),
    );
    expect(version.message).toContain('discover nowhere.example/v1: 404');
    const invalid = await rejection(port.list({ apiVersion: '../v1', kind: 'Pod' }));
    expect(invalid.message).toContain('invalid apiVersion');
  });
});

describe('get', () => {
  it('gets a namespaced object', async () => {
    const cm = await port.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'team-b',
      name: 'web-config',
    });
    expect(cm['data']).toEqual({ owner: 'web-config' });
    expect(cm['kind']).toBe('ConfigMap');
  });

  it('gets a cluster-scoped object', async () => {
    const ns = await port.get({ apiVersion: 'v1', kind: 'Namespace', name: 'team-a' });
    expect((ns['metadata'] as JsonObject)['name']).toBe('team-a');
  });

  it('rejects a missing object with a 404 naming it', async () => {
    const e = await rejection(
      port.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'team-a', name: 'ghost' }),
    );
    expect(e.status).toBe(404);
    expect(e.reason).toBe('NotFound');
    expect(e.message).toBe(
      'get v1 Pod "ghost" in namespace "team-a": 404 NotFound: pods "ghost" not found',
    );
  });

  it('needs a namespace for a namespaced kind', async () => {
    const e = await rejection(port.get({ apiVersion: 'v1', kind: 'Pod', name: 'web-1' }));
    expect(e.message).toContain('Pod is namespaced');
  });

  it('refuses names that would leave the resource path', async () => {
    for (const name of ['..', 'a/b', '%2e%2e']) {
      const e = await rejection(
        port.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'team-a', name }),
      );
      expect(e.status).toBeUndefined();
      expect(e.message).toContain('invalid name');
    }
  });
});

describe('canI', () => {
  const review = (user: string, namespace: string, verb: string): JsonObject => ({
    user,
    resourceAttributes: { namespace, verb, resource: 'configmaps' },
  });

  it('allows what a RoleBinding grants', async () => {
    const status = await port.canI(review('alice', 'team-a', 'list'));
    expect(status['allowed']).toBe(true);
    expect(status['reason']).toContain('configmap-reader');
  });

  it('denies what nothing grants', async () => {
    expect((await port.canI(review('bob', 'team-a', 'list')))['allowed']).toBe(false);
    expect((await port.canI(review('alice', 'team-b', 'list')))['allowed']).toBe(false);
    expect((await port.canI(review('alice', 'team-a', 'delete')))['allowed']).toBe(false);
  });

  it('reports an invalid review as a request failure', async () => {
    const e = await rejection(port.canI({ user: 'alice' }));
    expect(e.status).toBe(422);
    expect(e.reason).toBe('Invalid');
  });
});

describe('as a user subject to RBAC', () => {
  it('reads what it may and gets 403 Forbidden for the rest', async () => {
    const alice = createKubernetesPort({
      kubeConfig: kubeConfigOf(await cluster.userKubeconfig('alice')),
    });
    try {
      const list = await alice.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a' });
      expect(names(list)).toEqual(['team-a/db-config', 'team-a/web-config']);
      const e = await rejection(
        alice.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-b' }),
      );
      expect(e.status).toBe(403);
      expect(e.reason).toBe('Forbidden');
      expect(e.message).toContain('User "alice" cannot list resource "configmaps"');
    } finally {
      alice.close();
    }
  });
});

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

const crd = (kind: string, plural: string): JsonObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.palisade.example` },
  spec: {
    group: 'palisade.example',
    scope: 'Namespaced',
    names: { plural, kind },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        },
      },
    ],
  },
});

describe('discovery', () => {
  const widgets = { apiVersion: 'palisade.example/v1', kind: 'Widget', namespace: 'team-a' };
  const gizmos = { ...widgets, kind: 'Gizmo' };
  const eventually = (query: ListQuery) =>
    expect.poll(() => port.list(query).then(names, () => 'not served yet'), {
      timeout: 20_000,
      interval: 250,
    });

  it('finds a group and version installed after a failed lookup', async () => {
    const spec = { size: 3, parts: [{ name: 'bolt', at: '2026-01-02T03:04:05.678Z' }] };
    await rejection(port.list(widgets));
    await cluster.request('POST', CRDS, crd('Widget', 'widgets'));
    await eventually(widgets).toEqual([]);
    await cluster.request('POST', '/apis/palisade.example/v1/namespaces/team-a/widgets', {
      apiVersion: 'palisade.example/v1',
      kind: 'Widget',
      metadata: { name: 'w1' },
      spec,
    });
    const widget = await port.get({ ...widgets, name: 'w1' });
    expect(widget['spec']).toEqual(spec);
  });

  it('refetches a cached group and version for a kind added since', async () => {
    await rejection(port.list(gizmos));
    await cluster.request('POST', CRDS, crd('Gizmo', 'gizmos'));
    await eventually(gizmos).toEqual([]);
  });
});

describe('test control plane', () => {
  it('stop() ends both processes and removes the scratch directory', async () => {
    const { pids, dir } = cluster;
    expect(pids).toHaveLength(2);
    port.close();
    await cluster.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(dir)).toBe(false);
    await cluster.stop();
  }, 30_000);
});
