import { availableParallelism } from 'node:os';
import { PalisadeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { CapabilityGrant, HostCapabilities } from '../capabilities/types.js';
import { SandboxThread } from './channel-thread.js';
import type { GuestOperation, GuestSpec } from './guest.js';
import { FUEL_EXHAUSTED, type FailureReason } from './protocol.js';

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

export interface Task {
  readonly id: number;
  readonly key: string;
  readonly operation: GuestOperation;
  /** A string is encoded by the thread that takes the task, straight into its shared memory. */
  readonly payload: string | Uint8Array;
  readonly options: CallOptions;
  readonly resolve: (outcome: CallOutcome) => void;
}

export interface Registration {
  /** What calls and control messages name the module by in the workers. */
  readonly slot: number;
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
  private readonly workers: SandboxThread[] = [];
  private readonly registrations = new Map<string, Registration>();
  private readonly queue: Task[] = [];
  private nextTask = 1;
  private nextSlot = 1;
  private closed = false;
  /** The fastest fuel rate a guest has shown (see learnFuelRate); 0 until one has. */
  private learnedFuelPerMs = 0;

  constructor(private readonly options: PoolOptions) {
    const size = options.size ?? Math.max(1, availableParallelism());
    for (let i = 0; i < size; i++) this.workers.push(this.spawn(i));
  }

  /** Loads a module into every worker; rejects with the first worker's instantiation error. */
  async register(key: string, spec: GuestSpec, grant: CapabilityGrant): Promise<void> {
    const registration = { slot: this.nextSlot++, spec, grant };
    this.registrations.set(key, registration);
    const results = await Promise.all(this.workers.map((w) => w.register(key, registration)));
    const error = results.find((r) => r !== undefined);
    if (error !== undefined) {
      this.unregister(key);
      throw new PalisadeError('policy_load_failed', error);
    }
  }

  unregister(key: string): void {
    const registration = this.registrations.get(key);
    if (!registration) return;
    this.registrations.delete(key);
    for (const w of this.workers) w.post({ type: 'unregister', slot: registration.slot });
  }

  /** `payload` is the request's UTF-8 bytes, or its text (cheaper: encoded in place). */
  call(
    key: string,
    operation: GuestOperation,
    payload: string | Uint8Array,
    options: CallOptions,
  ): Promise<CallOutcome> {
    if (this.closed) {
      return Promise.resolve({ ok: false, reason: 'crash', message: 'the sandbox is closed' });
    }
    // Ids travel in an Int32 word of the channel: wrap before they stop fitting.
    const id = this.nextTask;
    this.nextTask = id === 0x7fffffff ? 1 : id + 1;
    return new Promise((resolve) => {
      this.queue.push({ id, key, operation, payload, options, resolve });
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
      while (worker.idle()) {
        const task = this.queue.shift();
        if (!task) return;
        this.run(worker, task);
      }
    }
  }

  private run(worker: SandboxThread, task: Task): void {
    const registration = this.registrations.get(task.key);
    if (!registration) {
      const message = `policy ${task.key} is not loaded in this worker`;
      task.resolve({ ok: false, reason: 'crash', message });
      return;
    }
    const grace = this.options.graceRatio ?? 0.05;
    const deadline = Date.now() + task.options.timeoutMs;
    const fuelPerMs =
      worker.fuelPerMs === undefined
        ? undefined
        : Math.max(worker.fuelPerMs, this.learnedFuelPerMs);
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
    const started = performance.now();
    worker.start(task, registration, deadline, fuel, (outcome) => {
      clearTimeout(timer);
      if (fuel !== undefined && !outcome.ok && outcome.message === FUEL_EXHAUSTED) {
        this.learnFuelRate(Number(fuel) / (performance.now() - started));
      }
      task.resolve(outcome);
      setImmediate(() => {
        this.dispatch();
      });
    });
  }

  /**
   * The calibration loop may run slower than a guest's optimised loop, which would spend its
   * fuel before the deadline. A budget that ran out early reveals the faster rate; every
   * worker, replacements included, budgets with it from then on, so only the first such stop can come early.
   */
  private learnFuelRate(observedPerMs: number): void {
    this.learnedFuelPerMs = Math.max(this.learnedFuelPerMs, observedPerMs);
  }

  private spawn(index: number): SandboxThread {
    return new SandboxThread(index, this.options, {
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
