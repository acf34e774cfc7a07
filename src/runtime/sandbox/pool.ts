import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { PalisadeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { CapabilityGrant, HostCapabilities } from '../capabilities/types.js';
import type { GuestOperation, GuestSpec } from './guest.js';
import type { FailureReason, FromWorker, HostReply, ToWorker, WorkerBoot } from './protocol.js';

export interface PoolOptions {
  readonly logger: Logger;
  readonly capabilities: HostCapabilities;
  /** Sandbox threads; default: one per core. */
  readonly size?: number;
  /** The wall-clock stop comes this much after the deadline, giving fuel the first chance. */
  readonly graceRatio?: number;
}

export type CallOutcome =
  | { readonly ok: true; readonly output: Uint8Array }
  | { readonly ok: false; readonly reason: FailureReason; readonly message: string };

export interface CallOptions {
  readonly timeoutMs: number;
  /** False for load-time calls (warm-up), which must not reach the cluster. */
  readonly hostCalls?: boolean;
}

interface Task {
  readonly id: number;
  readonly key: string;
  readonly operation: GuestOperation;
  readonly payload: Uint8Array;
  readonly options: CallOptions;
  readonly resolve: (outcome: CallOutcome) => void;
}

interface Registration {
  readonly spec: GuestSpec;
  readonly grant: CapabilityGrant;
}

/**
 * A fixed set of worker threads that run guests. A call that outlives its deadline
 * terminates its worker (the only way to stop a thread spinning in WebAssembly) and a
 * fresh one takes its place with every registered module, so the next request to that
 * policy, and every other policy, is served normally.
 */
export class SandboxPool {
  private readonly workers: PoolWorker[] = [];
  private readonly registrations = new Map<string, Registration>();
  private readonly queue: Task[] = [];
  private nextTask = 1;
  private closed = false;

  constructor(private readonly options: PoolOptions) {
    const size = options.size ?? Math.max(1, availableParallelism());
    for (let i = 0; i < size; i++) this.workers.push(this.spawn(i));
  }

  /** Loads a module into every worker; rejects with the first worker's instantiation error. */
  async register(key: string, spec: GuestSpec, grant: CapabilityGrant): Promise<void> {
    this.registrations.set(key, { spec, grant });
    const results = await Promise.all(this.workers.map((w) => w.register(key, spec)));
    const error = results.find((r) => r !== undefined);
    if (error !== undefined) {
      this.unregister(key);
      throw new PalisadeError('policy_load_failed', error);
    }
  }

  unregister(key: string): void {
    this.registrations.delete(key);
    for (const w of this.workers) w.post({ type: 'unregister', key });
  }

  call(
    key: string,
    operation: GuestOperation,
    payload: Uint8Array,
    options: CallOptions,
  ): Promise<CallOutcome> {
    if (this.closed) {
      return Promise.resolve({ ok: false, reason: 'crash', message: 'the sandbox is closed' });
    }
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextTask++, key, operation, payload, options, resolve });
      this.dispatch();
    });
  }

  /** Fuel the tightest loop burns per millisecond in this process (measured by each worker). */
  fuelPerMs(): number {
    return Math.min(...this.workers.map((w) => w.fuelPerMs ?? Infinity));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) {
      t.resolve({ ok: false, reason: 'crash', message: 'the sandbox closed' });
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    for (const worker of this.workers) {
      if (this.queue.length === 0) return;
      if (!worker.idle()) continue;
      const task = this.queue.shift();
      if (task) this.run(worker, task);
    }
  }

  private run(worker: PoolWorker, task: Task): void {
    const grace = this.options.graceRatio ?? 0.05;
    const deadline = Date.now() + task.options.timeoutMs;
    const fuelPerMs = worker.fuelPerMs;
    const fuel =
      fuelPerMs === undefined ? undefined : BigInt(Math.ceil(fuelPerMs * task.options.timeoutMs));
    const timer = setTimeout(
      () => {
        this.options.logger.warn(
          { policy: task.key, timeoutMs: task.options.timeoutMs },
          'policy evaluation ran past its deadline: stopping its sandbox worker',
        );
        worker.kill({
          ok: false,
          reason: 'timeout',
          message: `stopped after ${String(task.options.timeoutMs)} ms`,
        });
      },
      Math.ceil(task.options.timeoutMs * (1 + grace)),
    );
    worker.start(task, deadline, fuel, (outcome) => {
      clearTimeout(timer);
      task.resolve(outcome);
      setImmediate(() => {
        this.dispatch();
      });
    });
  }

  private spawn(index: number): PoolWorker {
    return new PoolWorker(index, this.options, {
      registrations: () => this.registrations,
      replaced: (fresh) => {
        this.workers[index] = fresh;
      },
      available: () => {
        this.dispatch();
      },
      spawn: () => this.spawn(index),
      closed: () => this.closed,
    });
  }
}

interface PoolLinks {
  registrations(): ReadonlyMap<string, Registration>;
  /** The worker can take tasks now. */
  available(): void;
  replaced(fresh: PoolWorker): void;
  spawn(): PoolWorker;
  closed(): boolean;
}

/** The worker script beside this file; from the sources (vitest) it is the compiled one. */
function workerUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new URL('./worker.js', import.meta.url);
  const built = here.replace(
    /\/src\/runtime\/sandbox\/pool\.ts$/,
    '/dist/runtime/sandbox/worker.js',
  );
  return new URL(`file://${built}`);
}

class PoolWorker {
  fuelPerMs: number | undefined;
  private readonly thread: Worker;
  private readonly signal = new SharedArrayBuffer(4);
  private readonly replies: MessageChannel['port1'];
  private readonly pendingRegistrations = new Map<string, (error: string | undefined) => void>();
  private readonly ready: Promise<void>;
  private active:
    { task: Task; deadline: number; done: (outcome: CallOutcome) => void } | undefined;
  private dead = false;
  /** False until the worker has measured its fuel rate and loaded every registered module. */
  private serving = false;

  constructor(
    index: number,
    private readonly options: PoolOptions,
    private readonly links: PoolLinks,
  ) {
    const channel = new MessageChannel();
    this.replies = channel.port1;
    const boot: WorkerBoot = { signal: this.signal, replies: channel.port2 };
    this.thread = new Worker(workerUrl(), { workerData: boot, transferList: [channel.port2] });
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => (markReady = resolve));
    this.thread.on('message', (m: FromWorker) => {
      if (m.type === 'ready') {
        this.fuelPerMs = m.fuelPerMs;
        markReady();
      } else this.onMessage(m);
    });
    this.thread.on('error', (e: Error) => {
      this.options.logger.error({ worker: index, err: e }, 'sandbox worker failed');
      this.replace({
        ok: false,
        reason: 'crash',
        message: `the sandbox worker failed: ${e.message}`,
      });
    });
    this.thread.on('exit', () => {
      this.replace({ ok: false, reason: 'crash', message: 'the sandbox worker exited' });
    });
    const replay = [...links.registrations()].map(([key, r]) => this.register(key, r.spec));
    void Promise.all(replay).then(() => {
      this.serving = true;
      links.available();
    });
  }

  idle(): boolean {
    return this.serving && !this.dead && this.active === undefined;
  }

  post(message: ToWorker): void {
    if (!this.dead) this.thread.postMessage(message);
  }

  async register(key: string, spec: GuestSpec): Promise<string | undefined> {
    await this.ready;
    return new Promise((resolve) => {
      this.pendingRegistrations.set(key, resolve);
      this.post({ type: 'register', key, spec });
    });
  }

  start(
    task: Task,
    deadline: number,
    fuel: bigint | undefined,
    done: (outcome: CallOutcome) => void,
  ): void {
    this.active = { task, deadline, done };
    this.post({
      type: 'call',
      task: task.id,
      key: task.key,
      operation: task.operation,
      payload: task.payload,
      fuel,
      deadline,
    });
  }

  /** Ends a call that will not end by itself: the thread goes, a new one replaces it. */
  kill(outcome: CallOutcome): void {
    this.replace(outcome);
  }

  terminate(): Promise<number> {
    this.dead = true;
    this.replies.close();
    return this.thread.terminate();
  }

  private finish(outcome: CallOutcome): void {
    const active = this.active;
    this.active = undefined;
    active?.done(outcome);
  }

  private replace(outcome: CallOutcome): void {
    if (this.dead) return;
    this.dead = true;
    void this.thread.terminate();
    this.replies.close();
    // The replacement loads every registered module again, so a pending one is not a failure.
    for (const resolve of this.pendingRegistrations.values()) resolve(undefined);
    this.pendingRegistrations.clear();
    this.finish(outcome);
    if (!this.links.closed()) this.links.replaced(this.links.spawn());
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'registered': {
        const resolve = this.pendingRegistrations.get(m.key);
        this.pendingRegistrations.delete(m.key);
        resolve?.(m.error);
        return;
      }
      case 'result':
        if (this.active?.task.id === m.task) this.finish({ ok: true, output: m.output });
        return;
      case 'failure':
        if (this.active?.task.id === m.task)
          this.finish({ ok: false, reason: m.reason, message: m.message });
        return;
      case 'host-call':
        void this.answerHostCall(m.seq, m.request);
        return;
      case 'log':
        this.options.logger[m.level === 'trace' ? 'debug' : m.level](
          { policy: m.key },
          `policy log: ${m.message}`,
        );
        return;
      case 'ready':
        return;
    }
  }

  private async answerHostCall(
    seq: number,
    request: Parameters<HostCapabilities['call']>[1],
  ): Promise<void> {
    const active = this.active;
    const registration = active ? this.links.registrations().get(active.task.key) : undefined;
    const result =
      !active || !registration || active.task.options.hostCalls === false
        ? { ok: false as const, error: 'host capabilities are not available during warm-up' }
        : await this.options.capabilities.call(registration.grant, request, active.deadline);
    if (this.dead) return;
    const reply: HostReply = { seq, result };
    this.replies.postMessage(reply);
    const view = new Int32Array(this.signal);
    Atomics.store(view, 0, 1);
    Atomics.notify(view, 0);
  }
}
