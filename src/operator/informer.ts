import { setTimeout as delay } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { JsonObject } from '../shared/admission.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { cacheKey, identityOf, ObjectCache, type CacheChange } from './informer-cache.js';
import {
  createListWatchSource,
  type ListWatchSource,
  type ListWatchSourceOptions,
} from './informer-source.js';
import { createKubeHttp, KubeApiError } from '../shared/kube-http.js';

export type { ListWatchSource, ResourceRef, WatchEvent } from './informer-source.js';

/**
 * What an informer tells its owner. Handlers run synchronously on the informer's loop, after
 * the cache already reflects the change: they should enqueue work (a key for a reconciler),
 * not do it. A throw or a rejected promise is logged and never stops the informer.
 */
export interface InformerHandlers {
  onAdd?(object: JsonObject): void | Promise<void>;
  /**
   * A change, or a periodic resync: then `object` and `old` are the same object, which lets a
   * reconciler fix drift even when nothing changed in the API server.
   */
  onUpdate?(object: JsonObject, old: JsonObject): void | Promise<void>;
  /** The last state the cache knew, which after a relist may predate the actual deletion. */
  onDelete?(object: JsonObject): void | Promise<void>;
  /** The first list is in the cache and its adds were delivered; called once. */
  onSynced?(): void | Promise<void>;
}

/** What every informer needs, wherever its objects come from. */
export interface InformerCoreOptions {
  readonly logger: Logger;
  readonly handlers: InformerHandlers;
  /** Period of re-emitting every cached object as an update. Default 5 minutes; 0 disables. */
  readonly resyncPeriodMs?: number;
  /**
   * Reconnection back-off after failures: doubles from `initialMs` (default 1 s) to `maxMs`
   * (default 30 s), each delay drawn from its upper half so clients spread out.
   */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
}

/**
 * An informer of one resource on a real cluster. The identity needs `list` and `watch` on the
 * resource (cluster-wide, or in `namespace`).
 */
export interface InformerOptions extends InformerCoreOptions, ListWatchSourceOptions {
  readonly kubeConfig: KubeConfig;
}

/** A running informer: its cache, its sync state, and the way to stop it. */
export interface Informer {
  /** The cached object, exactly as the API server sent it. Treat it as read-only. */
  get(name: string, namespace?: string): JsonObject | undefined;
  /** A snapshot of every cached object. */
  list(): JsonObject[];
  hasSynced(): boolean;
  /** Resolves true once the first list is in, false when the informer stops first or `signal` aborts. */
  waitForSync(signal?: AbortSignal): Promise<boolean>;
  /** Ends the watch and the resync timer; resolves once the loop has exited. Idempotent. */
  stop(): Promise<void>;
}

/** client-go's orders of magnitude: resync in minutes, back-off from about a second to 30 s. */
export const INFORMER_DEFAULTS = {
  resyncPeriodMs: 300_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 30_000,
} as const;

/** A watch the server ends sooner than this without a single event counts as a failure. */
const MIN_HEALTHY_WATCH_MS = 1_000;

/**
 * A list+watch cache of one resource (client-go's reflector and store, without the queue).
 * Written over plain HTTPS instead of client-node's `ListWatch`, which stops for good on any
 * error other than 410 (a refused connection during an API server restart included), requests
 * no bookmarks and has no resync; wrapping it in restart logic would still leave those gaps.
 *
 * Behaviour:
 * - list (paginated), then watch from the list's resourceVersion with bookmarks, which keep
 *   the resume point fresh on quiet resources so a reconnect rarely finds it compacted;
 * - the server ends each watch after a while: resume at once from the last resourceVersion;
 * - connection refused, reset or idle (API server restart, network): resume from the last
 *   resourceVersion after a capped exponential back-off;
 * - 410 Gone (an ERROR event or the HTTP status): the resume point was compacted, so relist and
 *   report the difference with the cache as adds, updates and deletes;
 * - any other error status (403, 500, an ERROR event): relist after the back-off, as client-go;
 * - every `resyncPeriodMs`, every cached object is re-emitted as an update.
 */
export function startInformer(options: InformerOptions): Informer {
  const http = createKubeHttp(options.kubeConfig);
  const informer = runInformer(createListWatchSource(http, options), options);
  return {
    ...informer,
    async stop() {
      try {
        await informer.stop();
      } finally {
        http.close();
      }
    },
  };
}

/** {@link startInformer} over any {@link ListWatchSource}; unit tests pass a scripted one. */
export function runInformer(source: ListWatchSource, options: InformerCoreOptions): Informer {
  const reflector = new Reflector(source, options);
  reflector.start();
  return {
    get: (name, namespace) => reflector.cache.get(cacheKey(name, namespace)),
    list: () => reflector.cache.values(),
    hasSynced: () => reflector.synced,
    waitForSync: (signal) => reflector.waitForSync(signal),
    stop: () => reflector.stop(),
  };
}

type WatchEnd = 'gone' | 'closed' | 'closed-early';

class Reflector {
  readonly cache = new ObjectCache();
  synced = false;
  private readonly stopping = new AbortController();
  private readonly log: Logger;
  private readonly syncWaiters = new Set<(synced: boolean) => void>();
  private loop: Promise<void> = Promise.resolve();
  private resync: NodeJS.Timeout | undefined;
  private resourceVersion = '';
  private needList = true;
  /** Consecutive failures, for the back-off; any event or successful list ends the streak. */
  private failures = 0;
  /** Consecutive 410s without an event in between; a second one in a row backs off. */
  private gone = 0;

  constructor(
    private readonly source: ListWatchSource,
    private readonly options: InformerCoreOptions,
  ) {
    this.log = options.logger.child({ informer: source.description });
  }

  start(): void {
    this.loop = this.run().catch((e: unknown) => {
      this.log.error({ err: errorMessage(e) }, 'informer stopped by a bug');
    });
    const period = this.options.resyncPeriodMs ?? INFORMER_DEFAULTS.resyncPeriodMs;
    if (period > 0) {
      this.resync = setInterval(() => {
        this.resyncAll();
      }, period);
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.resync);
    await this.loop;
    for (const resolve of this.syncWaiters) resolve(false);
    this.syncWaiters.clear();
  }

  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopping.signal.aborted || signal?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (synced: boolean) => {
        this.syncWaiters.delete(done);
        signal?.removeEventListener('abort', onAbort);
        resolve(synced);
      };
      const onAbort = () => {
        done(false);
      };
      this.syncWaiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async run(): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      const wait = await this.step(stop);
      if (wait > 0) await sleep(wait, stop);
    }
  }

  /** One list (when needed) and one watch; answers how long to wait before the next step. */
  private async step(stop: AbortSignal): Promise<number> {
    try {
      if (this.needList) await this.relist(stop);
      const end = await this.watch(stop);
      if (end === 'closed') return 0;
      if (end === 'closed-early') {
        this.failures++;
        return this.backoff('the watch ended at once');
      }
      return this.onGone('watch');
    } catch (e: unknown) {
      if (stop.aborted) return 0;
      if (e instanceof KubeApiError && e.status === 410) return this.onGone(errorMessage(e));
      this.failures++;
      // A reply with an error status may mean our view is inconsistent: relist, as client-go.
      // No reply (refused, reset, idle) most likely means a restarting server: resume the watch.
      if (e instanceof KubeApiError && e.status !== undefined) this.needList = true;
      this.log.warn({ err: errorMessage(e), failures: this.failures }, 'list/watch failed');
      return this.backoff(this.needList ? 'relisting' : 'resuming the watch');
    }
  }

  private onGone(what: string): number {
    this.needList = true;
    this.gone++;
    this.log.info({ resourceVersion: this.resourceVersion, what }, '410 Gone: relisting');
    if (this.gone < 2) return 0;
    this.failures++;
    return this.backoff('repeated 410 Gone');
  }

  private backoff(next: string): number {
    const initial = this.options.backoff?.initialMs ?? INFORMER_DEFAULTS.backoffInitialMs;
    const max = this.options.backoff?.maxMs ?? INFORMER_DEFAULTS.backoffMaxMs;
    const ceiling = Math.min(max, initial * 2 ** Math.min(30, Math.max(0, this.failures - 1)));
    const wait = Math.ceil(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.log.debug({ waitMs: wait, failures: this.failures }, `backing off, then ${next}`);
    return wait;
  }

  private async relist(stop: AbortSignal): Promise<void> {
    const { items, resourceVersion } = await this.source.list(stop);
    if (stop.aborted) return;
    const changes = this.cache.replace(items);
    this.resourceVersion = resourceVersion;
    this.needList = false;
    this.failures = 0;
    for (const change of changes) this.emit(change);
    if (this.synced) {
      const count = (type: CacheChange['type']) => changes.filter((c) => c.type === type).length;
      this.log.info(
        {
          resourceVersion,
          added: count('add'),
          updated: count('update'),
          deleted: count('delete'),
        },
        'relisted',
      );
      return;
    }
    this.synced = true;
    this.log.info({ resourceVersion, objects: this.cache.size }, 'synced');
    for (const resolve of [...this.syncWaiters]) resolve(true);
    this.call('onSynced', () => this.options.handlers.onSynced?.());
  }

  private async watch(stop: AbortSignal): Promise<WatchEnd> {
    const began = performance.now();
    const events = await this.source.watch(this.resourceVersion, stop);
    let received = false;
    for await (const { type, object } of events) {
      if (type === 'ERROR') return this.watchError(object);
      received = true;
      this.failures = 0;
      this.gone = 0;
      if (type === 'ADDED' || type === 'MODIFIED') this.emitAll(this.cache.upsert(object));
      else if (type === 'DELETED') this.emitAll(this.cache.remove(object));
      else if (type !== 'BOOKMARK') this.log.debug({ type }, 'ignoring an unknown watch event');
      this.resourceVersion = identityOf(object).resourceVersion ?? this.resourceVersion;
    }
    if (stop.aborted) return 'closed';
    return received || performance.now() - began >= MIN_HEALTHY_WATCH_MS
      ? 'closed'
      : 'closed-early';
  }

  /** An ERROR event carries a Status; 410 means the resume point is gone, the rest are failures. */
  private watchError(status: JsonObject): WatchEnd {
    const code = typeof status['code'] === 'number' ? status['code'] : undefined;
    if (code === 410) return 'gone';
    const reason = typeof status['reason'] === 'string' ? status['reason'] : undefined;
    const message = typeof status['message'] === 'string' ? status['message'] : '';
    throw new KubeApiError(
      `watch ERROR event: ${code ?? '?'} ${reason ?? ''}: ${message}`,
      code,
      reason,
    );
  }

  private resyncAll(): void {
    if (!this.synced || this.stopping.signal.aborted) return;
    const objects = this.cache.values();
    this.log.debug({ objects: objects.length }, 'resync');
    for (const object of objects) this.emit({ type: 'update', object, old: object });
  }

  private emitAll(changes: readonly CacheChange[]): void {
    for (const change of changes) this.emit(change);
  }

  private emit(change: CacheChange): void {
    const { handlers } = this.options;
    switch (change.type) {
      case 'add':
        this.call('onAdd', () => handlers.onAdd?.(change.object), change.object);
        return;
      case 'update':
        this.call('onUpdate', () => handlers.onUpdate?.(change.object, change.old), change.object);
        return;
      case 'delete':
        this.call('onDelete', () => handlers.onDelete?.(change.object), change.object);
        return;
    }
  }

  private call(handler: string, fn: () => unknown, object?: JsonObject): void {
    const failed = (e: unknown) => {
      const meta = object === undefined ? undefined : identityOf(object);
      this.log.error(
        { err: errorMessage(e), handler, name: meta?.name, namespace: meta?.namespace },
        'informer handler failed',
      );
    };
    try {
      const result = fn();
      if (result instanceof Promise) result.catch(failed);
    } catch (e: unknown) {
      failed(e);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(Math.max(0, Math.ceil(ms)), undefined, { signal }).catch(() => undefined);
}
