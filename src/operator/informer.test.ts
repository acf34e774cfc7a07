import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../shared/admission.js';
import { silentLogger } from '../shared/logger.js';
import { identityOf } from './informer-cache.js';
import { runInformer, type Informer, type InformerHandlers } from './informer.js';
import type { ListResult, ListWatchSource, WatchEvent } from './informer-source.js';
import { KubeApiError } from '../shared/kube-http.js';

/** A stream the test feeds; aborting the watch's signal breaks it as a closed socket would. */
class Stream implements AsyncIterable<WatchEvent> {
  private readonly queue: WatchEvent[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  push(type: string, object: JsonObject): void {
    this.queue.push({ type, object });
    this.poke();
  }

  end(): void {
    this.ended = true;
    this.poke();
  }

  fail(e: Error): void {
    this.failure = e;
    this.poke();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private poke(): void {
    this.wake?.();
    this.wake = undefined;
  }
}

/** Lists answer `objects` (or the next queued failure); watches open streams the test drives. */
class ScriptedSource implements ListWatchSource {
  readonly description = 'configmaps/v1 (test)';
  objects: JsonObject[] = [];
  resourceVersion = '10';
  readonly listFailures: Error[] = [];
  readonly watchFailures: Error[] = [];
  readonly watchedFrom: string[] = [];
  lists = 0;
  stream = new Stream();

  list(): Promise<ListResult> {
    this.lists++;
    const failure = this.listFailures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    return Promise.resolve({ items: [...this.objects], resourceVersion: this.resourceVersion });
  }

  watch(resourceVersion: string, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>> {
    this.watchedFrom.push(resourceVersion);
    const failure = this.watchFailures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    const stream = new Stream();
    signal.addEventListener('abort', () => {
      stream.fail(new Error('aborted'));
    });
    this.stream = stream;
    return Promise.resolve(stream);
  }
}

const cm = (name: string, rv: string, data = rv): JsonObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: rv },
  data: { v: data },
});

const nameOf = (o: JsonObject) => identityOf(o).name ?? '';
const gone = { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' };

const running: Informer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

function start(source: ScriptedSource, resyncPeriodMs = 0) {
  const events: string[] = [];
  const handlers: InformerHandlers = {
    onAdd: (o) => void events.push(`add ${nameOf(o)}`),
    onUpdate: (o, old) => void events.push(`${o === old ? 'resync' : 'update'} ${nameOf(o)}`),
    onDelete: (o) => void events.push(`delete ${nameOf(o)}`),
    onSynced: () => void events.push('synced'),
  };
  const informer = runInformer(source, {
    logger: silentLogger(),
    handlers,
    resyncPeriodMs,
    backoff: { initialMs: 5, maxMs: 20 },
  });
  running.push(informer);
  return { informer, events };
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('runInformer', () => {
  it('lists, reports the objects and then synced, and watches from the list version', async () => {
    const source = new ScriptedSource();
    source.objects = [cm('a', '5'), cm('b', '6')];
    const { informer, events } = start(source);
    expect(await informer.waitForSync()).toBe(true);
    expect(events).toEqual(['add a', 'add b', 'synced']);
    await waitFor(() => source.watchedFrom.length === 1);
    expect(source.watchedFrom).toEqual(['10']);
    expect(informer.get('a', 'ns')).toEqual(cm('a', '5'));
    expect(informer.list()).toHaveLength(2);
  });

  it('applies watch events and resumes from the newest version, bookmarks included', async () => {
    const source = new ScriptedSource();
    source.objects = [cm('a', '5')];
    const { informer, events } = start(source);
    await waitFor(() => source.watchedFrom.length === 1);
    source.stream.push('ADDED', cm('b', '11'));
    source.stream.push('ADDED', cm('b', '11'));
    source.stream.push('MODIFIED', cm('a', '12'));
    source.stream.push('DELETED', cm('b', '13'));
    source.stream.push('BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '20' } });
    source.stream.end();
    await waitFor(() => source.watchedFrom.length === 2);
    expect(events).toEqual(['add a', 'synced', 'add b', 'update a', 'delete b']);
    expect(source.watchedFrom).toEqual(['10', '20']);
    expect(informer.get('a', 'ns')).toEqual(cm('a', '12'));
    expect(informer.get('b', 'ns')).toBeUndefined();
    expect(source.lists).toBe(1);
  });

  it('relists on a 410 ERROR event and reports only what changed meanwhile', async () => {
    const source = new ScriptedSource();
    source.objects = [cm('kept', '1'), cm('changed', '2'), cm('removed', '3')];
    const { events } = start(source);
    await waitFor(() => source.watchedFrom.length === 1);
    source.objects = [cm('kept', '1'), cm('changed', '40'), cm('created', '41')];
    source.resourceVersion = '50';
    source.stream.push('ERROR', gone);
    await waitFor(() => source.watchedFrom.length === 2);
    expect(events.slice(4)).toEqual(['update changed', 'add created', 'delete removed']);
    expect(source.watchedFrom).toEqual(['10', '50']);
    expect(source.lists).toBe(2);
  });

  it('relists when the watch request itself answers 410', async () => {
    const source = new ScriptedSource();
    source.watchFailures.push(new KubeApiError('gone', 410, 'Expired'));
    const { events } = start(source);
    await waitFor(() => source.watchedFrom.length === 2);
    expect(source.lists).toBe(2);
    expect(events).toEqual(['synced']);
  });

  it('resumes from the last version, without relisting, when the connection breaks', async () => {
    const source = new ScriptedSource();
    source.objects = [cm('a', '5')];
    const { events } = start(source);
    await waitFor(() => source.watchedFrom.length === 1);
    source.stream.push('MODIFIED', cm('a', '15'));
    source.stream.fail(new KubeApiError('read ECONNRESET'));
    source.watchFailures.push(new KubeApiError('connect ECONNREFUSED'));
    source.watchFailures.push(new KubeApiError('connect ECONNREFUSED'));
    await waitFor(() => source.watchedFrom.length === 4);
    expect(source.watchedFrom).toEqual(['10', '15', '15', '15']);
    expect(source.lists).toBe(1);
    expect(events).toEqual(['add a', 'synced', 'update a']);
  });

  it('relists after an error status (an ERROR event that is not 410, or a 500)', async () => {
    const source = new ScriptedSource();
    const { events } = start(source);
    await waitFor(() => source.watchedFrom.length === 1);
    source.stream.push('ERROR', { kind: 'Status', code: 500, message: 'internal' });
    await waitFor(() => source.lists === 2);
    source.watchFailures.push(new KubeApiError('boom', 503));
    source.stream.end();
    await waitFor(() => source.lists === 3);
    expect(events).toEqual(['synced']);
  });

  it('retries a failing first list with back-off until it syncs', async () => {
    const source = new ScriptedSource();
    source.objects = [cm('a', '5')];
    source.listFailures.push(new KubeApiError('connect ECONNREFUSED'), new KubeApiError('x', 500));
    const { informer, events } = start(source);
    expect(await informer.waitForSync()).toBe(true);
    expect(source.lists).toBe(3);
    expect(events).toEqual(['add a', 'synced']);
  });

  it('re-emits every cached object as an update on each resync', async () => {
    const source = new ScriptedSource();
    source.objects = [cm('a', '5'), cm('b', '6')];
    const { events } = start(source, 20);
    await waitFor(() => events.filter((e) => e.startsWith('resync')).length >= 4);
    expect(events.slice(0, 5)).toEqual(['add a', 'add b', 'synced', 'resync a', 'resync b']);
  });

  it('keeps going when a handler throws or rejects', async () => {
    const source = new ScriptedSource();
    source.objects = [cm('a', '5')];
    const seen: string[] = [];
    const informer = runInformer(source, {
      logger: silentLogger(),
      resyncPeriodMs: 0,
      handlers: {
        onAdd: (o) => {
          seen.push(nameOf(o));
          throw new Error('handler bug');
        },
        onUpdate: () => Promise.reject(new Error('async handler bug')),
      },
    });
    running.push(informer);
    await waitFor(() => source.watchedFrom.length === 1);
    source.stream.push('MODIFIED', cm('a', '11'));
    source.stream.push('ADDED', cm('b', '12'));
    await waitFor(() => seen.length === 2);
    expect(informer.get('b', 'ns')).toBeDefined();
  });

  it('answers false to waitForSync when stopped before the first list', async () => {
    const source = new ScriptedSource();
    for (let i = 0; i < 1_000; i++) source.listFailures.push(new KubeApiError('refused'));
    const { informer } = start(source);
    const waiting = informer.waitForSync();
    await informer.stop();
    expect(await waiting).toBe(false);
    expect(informer.hasSynced()).toBe(false);
    const aborted = new AbortController();
    aborted.abort();
    expect(await informer.waitForSync(aborted.signal)).toBe(false);
  });
});
