import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../../shared/admission.js';
import { silentLogger } from '../../shared/logger.js';
import { createHostCapabilities } from './host-capabilities.js';
import type {
  CapabilityGrant,
  GetQuery,
  HostCallResult,
  KubernetesPort,
  ListQuery,
} from './types.js';

/**
 * A fake of the cluster port (not of our code): it serves a fixed set of objects and records
 * every query, so the tests can see what reached the cluster and what the caches absorbed.
 */
class FakeClusterPort implements KubernetesPort {
  readonly queries: (
    | { op: 'list'; query: ListQuery }
    | { op: 'get'; query: GetQuery }
    | { op: 'canI'; spec: JsonObject }
  )[] = [];
  constructor(readonly objects: JsonObject[]) {}

  list(query: ListQuery): Promise<JsonObject> {
    this.queries.push({ op: 'list', query });
    const items = this.objects.filter(
      (o) =>
        o['kind'] === query.kind &&
        (query.namespace === undefined ||
          (o['metadata'] as JsonObject)['namespace'] === query.namespace),
    );
    return Promise.resolve({
      apiVersion: query.apiVersion,
      kind: `${query.kind}List`,
      metadata: {},
      items,
    });
  }

  get(query: GetQuery): Promise<JsonObject> {
    this.queries.push({ op: 'get', query });
    const found = this.objects.find((o) => {
      const meta = o['metadata'] as JsonObject;
      return (
        o['kind'] === query.kind &&
        meta['name'] === query.name &&
        meta['namespace'] === query.namespace
      );
    });
    return found === undefined
      ? Promise.reject(
          new Error(`Cannot find ${query.apiVersion}/${query.kind} named '${query.name}'`),
        )
      : Promise.resolve(structuredClone(found));
  }

  canI(spec: JsonObject): Promise<JsonObject> {
    this.queries.push({ op: 'canI', spec });
    const user = spec['user'];
    return Promise.resolve({
      allowed: user === 'admin',
      reason: user === 'admin' ? 'RBAC: allowed' : '',
    });
  }
}

const pod = (name: string, namespace: string): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels: { app: name }, managedFields: [] },
  spec: {
    containers: [
      { name: 'main', image: `${name}:1`, securityContext: { privileged: false } },
      { name: 'sidecar', image: 'proxy:2', securityContext: { privileged: true } },
    ],
    nodeName: 'node-1',
  },
  status: { phase: 'Running' },
});

const grant: CapabilityGrant = {
  policyId: 'context-aware',
  hostCapabilities: ['kubernetes/*'],
  contextAwareResources: [{ apiVersion: 'v1', kind: 'Pod' }],
};

function setup(): {
  port: FakeClusterPort;
  call: (operation: string, payload: JsonValue) => Promise<JsonValue>;
  callRaw: (operation: string, payload: JsonValue) => Promise<HostCallResult>;
  advance: (ms: number) => void;
} {
  const port = new FakeClusterPort([
    pod('web', 'default'),
    pod('db', 'default'),
    pod('cache', 'infra'),
  ]);
  let now = 1_000_000;
  const capabilities = createHostCapabilities({
    logger: silentLogger(),
    kubernetes: port,
    now: () => now,
  });
  const callRaw = (operation: string, payload: JsonValue): Promise<HostCallResult> =>
    capabilities.call(
      grant,
      {
        binding: 'kubewarden',
        namespace: 'kubernetes',
        operation,
        payload: new TextEncoder().encode(JSON.stringify(payload)),
      },
      Date.now() + 5_000,
    );
  const call = async (operation: string, payload: JsonValue): Promise<JsonValue> => {
    const result = await callRaw(operation, payload);
    if (!result.ok) throw new Error(result.error);
    return JSON.parse(new TextDecoder().decode(result.payload)) as JsonValue;
  };
  return { port, call, callRaw, advance: (ms) => (now += ms) };
}

describe('kubernetes/* host capabilities over the cluster port', () => {
  it('lists by namespace with selectors passed through and absent optionals left out', async () => {
    const { port, call } = setup();
    const list = (await call('list_resources_by_namespace', {
      api_version: 'v1',
      kind: 'Pod',
      namespace: 'default',
      label_selector: 'app=web',
      field_selector: null,
    })) as JsonObject;
    expect(port.queries).toEqual([
      {
        op: 'list',
        query: { apiVersion: 'v1', kind: 'Pod', namespace: 'default', labelSelector: 'app=web' },
      },
    ]);
    expect(list['kind']).toBe('PodList');
    expect((list['items'] as JsonValue[]).length).toBe(2);
  });

  it('lists across namespaces and prunes items with field masks (arrays transparent, metadata kept)', async () => {
    const { port, call } = setup();
    const list = (await call('list_resources_all', {
      api_version: 'v1',
      kind: 'Pod',
      field_masks: ['spec.containers.image', 'status'],
    })) as JsonObject;
    expect(port.queries).toEqual([{ op: 'list', query: { apiVersion: 'v1', kind: 'Pod' } }]);
    expect((list['items'] as JsonValue[])[2]).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'cache', namespace: 'infra', labels: { app: 'cache' }, managedFields: [] },
      spec: { containers: [{ image: 'cache:1' }, { image: 'proxy:2' }] },
      status: { phase: 'Running' },
    });
  });

  it('caches get_resource for 5 s, applies masks after the cache, and bypasses it with disable_cache', async () => {
    const { port, call, advance } = setup();
    const get = {
      api_version: 'v1',
      kind: 'Pod',
      name: 'web',
      namespace: 'default',
      disable_cache: false,
    };
    const whole = await call('get_resource', get);
    expect(whole).toEqual(pod('web', 'default'));
    const masked = await call('get_resource', { ...get, field_masks: ['spec.nodeName'] });
    expect(masked).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: pod('web', 'default')['metadata'] ?? null,
      spec: { nodeName: 'node-1' },
    });
    expect(await call('get_resource', get)).toEqual(whole);
    expect(port.queries.filter((q) => q.op === 'get')).toHaveLength(1);

    await call('get_resource', { ...get, disable_cache: true });
    expect(port.queries.filter((q) => q.op === 'get')).toHaveLength(2);

    advance(4_999);
    await call('get_resource', get);
    expect(port.queries.filter((q) => q.op === 'get')).toHaveLength(2);
    advance(2);
    await call('get_resource', get);
    expect(port.queries.filter((q) => q.op === 'get')).toHaveLength(3);
  });

  it('keys the get cache by namespace and name, and never caches a failure', async () => {
    const { port, call, callRaw } = setup();
    await call('get_resource', {
      api_version: 'v1',
      kind: 'Pod',
      name: 'web',
      namespace: 'default',
      disable_cache: false,
    });
    const missing = {
      api_version: 'v1',
      kind: 'Pod',
      name: 'web',
      namespace: 'infra',
      disable_cache: false,
    };
    expect(await callRaw('get_resource', missing)).toEqual({
      ok: false,
      error: "Callback evaluation failure: Cannot find v1/Pod named 'web'",
    });
    expect((await callRaw('get_resource', missing)).ok).toBe(false);
    expect(port.queries.filter((q) => q.op === 'get')).toHaveLength(3);
  });

  it('sends can_i as a SubjectAccessReviewSpec and caches the status for 5 s unless disable_cache', async () => {
    const { port, call, advance } = setup();
    const review = {
      subject_access_review: {
        user: 'admin',
        groups: ['system:masters'],
        resource_attributes: {
          namespace: 'default',
          verb: 'create',
          resource: 'pods',
          group: '',
          subresource: null,
        },
      },
      disable_cache: false,
    };
    expect(await call('can_i', review)).toEqual({ allowed: true, reason: 'RBAC: allowed' });
    expect(port.queries).toEqual([
      {
        op: 'canI',
        spec: {
          user: 'admin',
          groups: ['system:masters'],
          resourceAttributes: { namespace: 'default', verb: 'create', group: '', resource: 'pods' },
        },
      },
    ]);
    await call('can_i', review);
    expect(port.queries).toHaveLength(1);
    await call('can_i', { ...review, disable_cache: true });
    expect(port.queries).toHaveLength(2);
    const other = {
      ...review,
      subject_access_review: { ...review.subject_access_review, user: 'dev' },
    };
    expect(await call('can_i', other)).toEqual({ allowed: false, reason: '' });
    expect(port.queries).toHaveLength(3);
    advance(5_001);
    await call('can_i', review);
    expect(port.queries).toHaveLength(4);
  });

  it('shares one cluster query between concurrent identical gets', async () => {
    const { port, call } = setup();
    const get = {
      api_version: 'v1',
      kind: 'Pod',
      name: 'db',
      namespace: 'default',
      disable_cache: false,
    };
    await Promise.all([
      call('get_resource', get),
      call('get_resource', get),
      call('get_resource', get),
    ]);
    expect(port.queries).toHaveLength(1);
  });

  it('answers an error when the server runs without cluster access', async () => {
    const capabilities = createHostCapabilities({ logger: silentLogger() });
    const result = await capabilities.call(
      grant,
      {
        binding: 'kubewarden',
        namespace: 'kubernetes',
        operation: 'list_resources_all',
        payload: new TextEncoder().encode('{"api_version":"v1","kind":"Pod"}'),
      },
      Date.now() + 1000,
    );
    expect(result).toEqual({
      ok: false,
      error: expect.stringMatching(
        /^Callback evaluation failure: no Kubernetes client is configured/,
      ) as unknown,
    });
  });
});
