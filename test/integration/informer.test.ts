import net from 'node:net';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/shared/admission.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import { identityOf } from '../../src/operator/informer-cache.js';
import { startInformer, type Informer } from '../../src/operator/informer.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube.js';

const LABEL = 'palisade.dev/informer-test';
const running: Informer[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

/** The informer's log lines, so tests can tell a resumed watch from a relist. */
function capturedLogger(): { logger: Logger; messages: string[] } {
  const messages: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '') messages.push(String((JSON.parse(line) as { msg?: unknown }).msg));
      }
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', format: 'json', destination }), messages };
}

function watchConfigMaps(kubeConfig: KubeConfig, app: string) {
  const events: string[] = [];
  const { logger, messages } = capturedLogger();
  const name = (o: JsonObject) => identityOf(o).name ?? '?';
  const informer = startInformer({
    kubeConfig,
    logger,
    resource: { group: '', version: 'v1', plural: 'configmaps' },
    labelSelector: `${LABEL}=${app}`,
    backoff: { initialMs: 100, maxMs: 1_000 },
    handlers: {
      onAdd: (o) => void events.push(`add ${name(o)}`),
      onUpdate: (o, old) => void events.push(`${o === old ? 'resync' : 'update'} ${name(o)}`),
      onDelete: (o) => void events.push(`delete ${name(o)}`),
      onSynced: () => void events.push('synced'),
    },
  });
  running.push(informer);
  return { informer, events, messages };
}

const configMapsOf = (namespace: string) => `/api/v1/namespaces/${namespace}/configmaps`;

function seedHelpers(cluster: () => KubeApiServer, namespace: string, app: string) {
  return {
    create: (name: string, value = '1') =>
      cluster().request('POST', configMapsOf(namespace), {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, labels: { [LABEL]: app } },
        data: { value },
      }),
    update: (name: string, value: string) =>
      cluster().request('PUT', `${configMapsOf(namespace)}/${name}`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, labels: { [LABEL]: app } },
        data: { value },
      }),
    remove: (name: string) => cluster().request('DELETE', `${configMapsOf(namespace)}/${name}`),
    namespace: () =>
      cluster().request('POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace },
      }),
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<number> {
  const began = performance.now();
  while (!condition()) {
    if (performance.now() - began > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Math.round(performance.now() - began);
}

/** Every object is announced once, unless it was really deleted in between. */
function expectNoDuplicateAdds(events: readonly string[]): void {
  const live = new Set<string>();
  for (const event of events) {
    const [type, name = ''] = event.split(' ');
    if (type === 'add') {
      expect(live.has(name), `second add of ${name} in ${events.join(', ')}`).toBe(false);
      live.add(name);
    } else if (type === 'delete') {
      live.delete(name);
    }
  }
}

describe('informer against a real API server', () => {
  let cluster: KubeApiServer;
  let kubeConfig: KubeConfig;
  // One namespace per test, so each test is free to pick its objects' names.
  const seed = seedHelpers(() => cluster, 'events', 'events');
  const outage = seedHelpers(() => cluster, 'outage', 'outage');
  const restart = seedHelpers(() => cluster, 'restart', 'restart');

  beforeAll(async () => {
    cluster = await startKubeApiServer();
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfigPath);
    for (const helper of [seed, outage, restart]) await helper.namespace();
  }, 120_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('lists, then reports adds, updates and deletes as they happen', async () => {
    await seed.create('a');
    await seed.create('b');
    const { informer, events } = watchConfigMaps(kubeConfig, 'events');
    expect(await informer.waitForSync()).toBe(true);
    expect(events.slice(0, 2).sort()).toEqual(['add a', 'add b']);
    expect(events[2]).toBe('synced');
    expect(informer.get('a', 'events')).toMatchObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      data: { value: '1' },
    });

    await seed.create('c');
    await seed.update('a', '2');
    await seed.remove('b');
    await waitFor(() => events.length === 6);
    expect(events.slice(3)).toEqual(['add c', 'update a', 'delete b']);
    expect(informer.get('a', 'events')?.['data']).toEqual({ value: '2' });
    expect(informer.get('b', 'events')).toBeUndefined();
    expect(
      informer
        .list()
        .map((o) => identityOf(o).name)
        .sort(),
    ).toEqual(['a', 'c']);
  });

  it('resumes the watch where it was after losing the connection, without relisting', async () => {
    const proxy = await startProxy(new URL(cluster.server).port);
    try {
      await outage.create('changed');
      await outage.create('removed');
      const { informer, events, messages } = watchConfigMaps(
        proxiedKubeConfig(cluster.kubeconfigPath, proxy.port),
        'outage',
      );
      expect(await informer.waitForSync()).toBe(true);
      const before = events.length;
      proxy.cut();
      await outage.create('created');
      await outage.update('changed', '2');
      await outage.remove('removed');
      await waitFor(() => messages.includes('list/watch failed'));
      proxy.heal();
      await waitFor(() => events.length === before + 3);
      expect(events.slice(before)).toEqual(['add created', 'update changed', 'delete removed']);
      expect(messages).not.toContain('relisted');
      expectNoDuplicateAdds(events);
    } finally {
      await proxy.close();
    }
  });

  it('resumes after the API server restarts and sees what changed afterwards', async () => {
    await restart.create('kept');
    await restart.create('changed');
    await restart.create('removed');
    const { informer, events, messages } = watchConfigMaps(kubeConfig, 'restart');
    expect(await informer.waitForSync()).toBe(true);
    const before = events.length;
    await cluster.restartApiServer();
    await restart.create('created');
    await restart.update('changed', 'after-restart');
    await restart.remove('removed');
    const ms = await waitFor(() => events.length === before + 3);
    const path = messages.includes('relisted') ? 'relisted' : 'resumed the watch';
    console.info(`after the restart: ${path}; the changes arrived within ${ms} ms`);
    expect(events.slice(before)).toEqual(['add created', 'update changed', 'delete removed']);
    expectNoDuplicateAdds(events);
    expect(messages).toContain('list/watch failed');
    expect(informer.get('changed', 'restart')?.['data']).toEqual({ value: 'after-restart' });
  }, 120_000);
});

describe('informer when its resume point was compacted (410 Gone)', () => {
  let cluster: KubeApiServer;
  const seed = seedHelpers(() => cluster, 'compacted', 'gone');
  const filler = seedHelpers(() => cluster, 'compacted', 'unrelated');

  beforeAll(async () => {
    // Without the watch cache, watches are served by etcd, which answers a compacted revision
    // with 410; compacting every second makes that happen within a few seconds of writes.
    cluster = await startKubeApiServer({
      extraArgs: ['--watch-cache=false', '--etcd-compaction-interval=1s'],
    });
    await seed.namespace();
  }, 120_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('relists and reports exactly what changed while it was cut off', async () => {
    const proxy = await startProxy(new URL(cluster.server).port);
    try {
      await seed.create('kept');
      await seed.create('changed');
      await seed.create('removed');
      const { informer, events, messages } = watchConfigMaps(
        proxiedKubeConfig(cluster.kubeconfigPath, proxy.port),
        'gone',
      );
      expect(await informer.waitForSync()).toBe(true);
      const before = events.length;
      expect(events.slice(0, 3).sort()).toEqual(['add changed', 'add kept', 'add removed']);

      proxy.cut();
      const cutAt = (await cluster.request('GET', `${configMapsOf('compacted')}?limit=1`)) as {
        metadata: { resourceVersion: string };
      };
      await seed.update('changed', '2');
      await seed.remove('removed');
      await seed.create('created');
      // Keep writing until a watch from the revision at the cut is refused: then the
      // informer's resume point, which is no newer, is compacted too.
      for (let i = 0; !(await compacted(cluster, cutAt.metadata.resourceVersion)); i++) {
        await filler.create(`filler-${i}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      proxy.heal();

      const ms = await waitFor(() => events.length >= before + 3);
      console.info(`relisted and caught up within ${ms} ms of reconnecting`);
      await new Promise((r) => setTimeout(r, 500));
      expect(events.slice(before).sort()).toEqual([
        'add created',
        'delete removed',
        'update changed',
      ]);
      expectNoDuplicateAdds(events);
      expect(messages).toContain('410 Gone: relisting');
      expect(messages).toContain('relisted');
      expect(
        informer
          .list()
          .map((o) => identityOf(o).name)
          .sort(),
      ).toEqual(['changed', 'created', 'kept']);
    } finally {
      await proxy.close();
    }
  }, 120_000);
});

/**
 * True once etcd compacted `resourceVersion`: a list at exactly that revision is then refused
 * with 410, as a watch from it is (both read etcd's history when the watch cache is off).
 */
async function compacted(cluster: KubeApiServer, resourceVersion: string): Promise<boolean> {
  const path = `${configMapsOf('compacted')}?limit=1&resourceVersionMatch=Exact&resourceVersion=${resourceVersion}`;
  const failure = await cluster.request('GET', path).then(
    () => undefined,
    (e: unknown) => e,
  );
  return failure instanceof Error && failure.message.includes(': 410 ');
}

function proxiedKubeConfig(path: string, port: number): KubeConfig {
  const direct = new KubeConfig();
  direct.loadFromFile(path);
  const proxied = new KubeConfig();
  proxied.loadFromOptions({
    clusters: direct.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
    users: direct.users,
    contexts: direct.contexts,
    currentContext: direct.currentContext,
  });
  return proxied;
}

interface Proxy {
  readonly port: number;
  /** Breaks every connection and refuses new ones, as a network partition would. */
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

/** A TCP relay to the API server (TLS passes through untouched) that a test can cut. */
async function startProxy(targetPort: string): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(targetPort), '127.0.0.1');
    const pair = [client, upstream];
    const drop = () => {
      for (const s of pair) {
        s.destroy();
        sockets.delete(s);
      }
    };
    for (const s of pair) {
      sockets.add(s);
      s.on('error', drop);
      s.on('close', drop);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    heal() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
