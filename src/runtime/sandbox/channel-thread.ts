import { fileURLToPath } from 'node:url';
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
  type MessagePort,
} from 'node:worker_threads';
import type { HostCallRequest } from '../capabilities/types.js';
import { Channel, DONE_OUTPUT, DOOR_CONTROL, HOST_WORD } from './channel.js';
import type { CallOutcome, PoolOptions, Registration, Task } from './pool.js';
import type { FromWorker, HostReply, ToWorker, WorkerBoot } from './protocol.js';

/** What a thread needs from its pool. */
export interface PoolLinks {
  registrations(): ReadonlyMap<string, Registration>;
  /** The worker can take tasks now. */
  available(): void;
  replaced(fresh: SandboxThread): void;
  spawn(): SandboxThread;
  closed(): boolean;
}

interface ActiveCall {
  readonly task: Task;
  readonly deadline: number;
  readonly done: (outcome: CallOutcome) => void;
  /** An outcome that came as a message; it counts only once the done word is set. */
  outcome?: CallOutcome;
}

/** The worker script beside this file; from the sources (vitest) it is the compiled one. */
function workerUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new URL('./worker.js', import.meta.url);
  const built = here.replace(
    /\/src\/runtime\/sandbox\/channel-thread\.ts$/,
    '/dist/runtime/sandbox/worker.js',
  );
  return new URL(`file://${built}`);
}

const encoder = new TextEncoder();

/**
 * The pool's side of one sandbox worker. A call is finished only by the worker's done word,
 * never by a message alone: the worker posts a message just before it sets the word, so
 * finishing on the message could let the next call reset the word before the worker wrote it.
 */
export class SandboxThread {
  fuelPerMs: number | undefined;
  private readonly thread: Worker;
  private readonly channel = new Channel();
  private readonly control: MessagePort;
  private readonly events: MessagePort;
  private readonly replies: MessagePort;
  private readonly pendingRegistrations = new Map<number, (error: string | undefined) => void>();
  private readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;
  private active: ActiveCall | undefined;
  private dead = false;
  /** False until the worker has measured its fuel rate and loaded every registered module. */
  private serving = false;

  constructor(
    index: number,
    private readonly options: PoolOptions,
    private readonly links: PoolLinks,
  ) {
    const control = new MessageChannel();
    const events = new MessageChannel();
    const replies = new MessageChannel();
    this.control = control.port1;
    this.events = events.port1;
    this.replies = replies.port1;
    const boot: WorkerBoot = {
      channel: this.channel.buffer,
      control: control.port2,
      events: events.port2,
      replies: replies.port2,
    };
    this.thread = new Worker(workerUrl(), {
      workerData: boot,
      transferList: [control.port2, events.port2, replies.port2],
    });
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.events.on('message', (m: FromWorker) => {
      this.onMessage(m);
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
    const replay = [...links.registrations()].map(([key, r]) => this.register(key, r));
    void Promise.all(replay).then(() => {
      this.serving = true;
      links.available();
    });
  }

  idle(): boolean {
    return this.serving && !this.dead && this.active === undefined;
  }

  /** Reaches the worker even while it sleeps in `Atomics.wait` or runs a guest. */
  post(message: ToWorker, transfer: readonly ArrayBuffer[] = []): void {
    if (this.dead) return;
    this.control.postMessage(message, transfer);
    this.channel.ring(DOOR_CONTROL);
  }

  async register(key: string, registration: Registration): Promise<string | undefined> {
    await this.ready;
    // Unregistered while this thread started: the control message went before; do not revive it.
    if (this.links.registrations().get(key) !== registration) return undefined;
    return new Promise((resolve) => {
      this.pendingRegistrations.set(registration.slot, resolve);
      this.post({ type: 'register', slot: registration.slot, key, spec: registration.spec });
    });
  }

  start(
    task: Task,
    registration: Registration,
    deadline: number,
    fuel: bigint | undefined,
    done: (outcome: CallOutcome) => void,
  ): void {
    this.active = { task, deadline, done };
    const length = this.channel.writeRequest(task.payload);
    if (length < 0) {
      // Too large for the channel: bytes encoded here are ours to transfer, the caller's are not.
      if (typeof task.payload === 'string') {
        const payload = encoder.encode(task.payload);
        this.post({ type: 'payload', task: task.id, payload }, [payload.buffer]);
      } else this.post({ type: 'payload', task: task.id, payload: task.payload });
    }
    const slot = registration.slot;
    this.channel.post({ task: task.id, slot, operation: task.operation, length, fuel, deadline });
    void this.channel.done().then(() => {
      this.settle(task.id);
    });
  }

  /** Ends a call that will not end by itself: the thread goes, a new one replaces it. */
  kill(outcome: CallOutcome): void {
    this.replace(outcome);
  }

  terminate(): Promise<number> {
    this.stop({ ok: false, reason: 'crash', message: 'the sandbox closed' });
    return this.thread.terminate();
  }

  private settle(task: number): void {
    if (this.dead || this.active?.task.id !== task) return;
    // Logs and large outcomes were posted before the done word: handle them first, in order.
    for (let m = receiveMessageOnPort(this.events); m; m = receiveMessageOnPort(this.events)) {
      this.onMessage(m.message as FromWorker);
    }
    const active = this.active;
    if (active.outcome) this.finish(active.outcome);
    else if (this.channel.status() === DONE_OUTPUT) {
      this.finish({ ok: true, output: this.channel.output() });
    } else {
      this.finish({ ok: false, reason: 'crash', message: 'the sandbox worker lost the outcome' });
    }
  }

  private finish(outcome: CallOutcome): void {
    const active = this.active;
    this.active = undefined;
    active?.done(outcome);
  }

  /** Marks the thread dead and settles everything waiting on it. */
  private stop(outcome: CallOutcome): void {
    this.dead = true;
    this.control.close();
    this.events.close();
    this.replies.close();
    // Releases the pending Atomics.waitAsync, which would otherwise hold the memory forever.
    this.channel.abandon();
    // The replacement loads every registered module again, so a pending one is not a failure.
    for (const resolve of this.pendingRegistrations.values()) resolve(undefined);
    this.pendingRegistrations.clear();
    this.finish(outcome);
  }

  private replace(outcome: CallOutcome): void {
    if (this.dead) return;
    void this.thread.terminate();
    this.stop(outcome);
    if (!this.links.closed()) this.links.replaced(this.links.spawn());
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        this.fuelPerMs = m.fuelPerMs;
        this.markReady();
        return;
      case 'registered': {
        const resolve = this.pendingRegistrations.get(m.slot);
        this.pendingRegistrations.delete(m.slot);
        resolve?.(m.error);
        return;
      }
      case 'result':
        if (this.active?.task.id === m.task) this.active.outcome = { ok: true, output: m.output };
        return;
      case 'failure':
        if (this.active?.task.id === m.task)
          this.active.outcome = { ok: false, reason: m.reason, message: m.message };
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
    }
  }

  private async answerHostCall(seq: number, request: HostCallRequest): Promise<void> {
    const active = this.active;
    const registration = active ? this.links.registrations().get(active.task.key) : undefined;
    const result =
      !active || !registration || active.task.options.hostCalls === false
        ? { ok: false as const, error: 'host capabilities are not available during warm-up' }
        : await this.options.capabilities.call(registration.grant, request, active.deadline);
    if (this.dead) return;
    const reply: HostReply = { seq, result };
    this.replies.postMessage(reply);
    Atomics.store(this.channel.words, HOST_WORD, 1);
    Atomics.notify(this.channel.words, HOST_WORD);
  }
}
