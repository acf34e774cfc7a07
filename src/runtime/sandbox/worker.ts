import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { HostCallRequest, HostCallResult } from '../capabilities/types.js';
import { createGuest as gatekeeperGuest } from '../gatekeeper/guest.js';
import { createGuest as wapcGuest } from '../kubewarden-wapc/guest.js';
import { createGuest as opaGuest } from '../opa/guest.js';
import { createGuest as wasiGuest } from '../wasi/guest.js';
import { measureFuelPerMs } from './calibration.js';
import {
  Channel,
  DONE_MESSAGE,
  DONE_OUTPUT,
  DOOR_CALL,
  DOOR_CONTROL,
  HOST_WORD,
} from './channel.js';
import {
  GuestError,
  PAGE_BYTES,
  type ExecutionMode,
  type Guest,
  type GuestFactory,
  type GuestHost,
  type GuestSpec,
  type LogLevel,
} from './guest.js';
import {
  FUEL_EXHAUSTED,
  type FailureReason,
  type FromWorker,
  type HostReply,
  type ToWorker,
  type WorkerBoot,
} from './protocol.js';

/**
 * One sandbox worker: holds the policies' compiled modules and runs one guest call at a
 * time, so a guest that spins blocks only this thread, never the HTTP event loop. Calls and
 * control messages are announced on its channel's door word, not as message events, because
 * the thread is often blocked in `Atomics.wait`; it reads the ports with `receiveMessageOnPort`.
 */
const FACTORIES: Record<ExecutionMode, GuestFactory> = {
  'kubewarden-wapc': wapcGuest,
  wasi: wasiGuest,
  opa: opaGuest,
  gatekeeper: gatekeeperGuest,
};

const boot = workerData as WorkerBoot;
if (!(boot.channel instanceof SharedArrayBuffer)) {
  throw new Error('the sandbox worker must be started by the sandbox pool');
}
const channel = new Channel(boot.channel);
const words = channel.words;
const guests = new Map<number, { guest: Guest; spec: GuestSpec; key: string }>();
/** Requests too large for the channel, by task, until their call is announced. */
const payloads = new Map<number, Uint8Array>();
let current: { task: number; key: string; deadline: number } | undefined;
let sequence = 0;

const send = (message: FromWorker): void => {
  boot.events.postMessage(message);
};

const host: GuestHost = {
  call(request: HostCallRequest): HostCallResult {
    if (!current) return { ok: false, error: 'host capabilities are not available here' };
    const wait = current.deadline - Date.now();
    if (wait <= 0) return { ok: false, error: 'the evaluation deadline passed' };
    const seq = ++sequence;
    Atomics.store(words, HOST_WORD, 0);
    send({ type: 'host-call', task: current.task, seq, request });
    const until = Date.now() + wait;
    for (;;) {
      // Answers that missed an earlier deadline may still be queued: skip them.
      for (let r = receiveMessageOnPort(boot.replies); r; r = receiveMessageOnPort(boot.replies)) {
        const reply = r.message as HostReply;
        if (reply.seq === seq) return reply.result;
      }
      const left = until - Date.now();
      if (left <= 0) {
        return { ok: false, error: 'the host capability did not answer before the deadline' };
      }
      Atomics.wait(words, HOST_WORD, 0, left);
      Atomics.store(words, HOST_WORD, 0);
    }
  },
  log(level: LogLevel, message: string) {
    if (current) send({ type: 'log', key: current.key, level, message });
  },
};

function classify(guest: Guest, spec: GuestSpec, e: unknown): [FailureReason, string] {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof GuestError) return ['guest', message];
  const fuel = guest.fuelLeft();
  if (fuel !== undefined && fuel < 0n) return ['timeout', FUEL_EXHAUSTED];
  const capBytes = spec.maxMemoryPages * PAGE_BYTES;
  if (guest.memoryBytes() >= capBytes - 16 * PAGE_BYTES || e instanceof RangeError) {
    return ['memory', message];
  }
  return ['trap', message];
}

function control(message: ToWorker): void {
  switch (message.type) {
    case 'register': {
      try {
        const factory = FACTORIES[message.spec.mode];
        const guest = factory(message.spec);
        guests.set(message.slot, { guest, spec: message.spec, key: message.key });
        send({ type: 'registered', slot: message.slot });
      } catch (e) {
        send({ type: 'registered', slot: message.slot, error: String(e) });
      }
      return;
    }
    case 'unregister':
      guests.delete(message.slot);
      return;
    case 'payload':
      payloads.set(message.task, message.payload);
      return;
  }
}

function fail(task: number, reason: FailureReason, message: string): void {
  send({ type: 'failure', task, reason, message });
  channel.finish(DONE_MESSAGE);
}

function call(): void {
  const header = channel.header();
  const payload = header.length >= 0 ? channel.request(header.length) : payloads.get(header.task);
  payloads.delete(header.task);
  const entry = guests.get(header.slot);
  if (!entry || !payload) {
    const what = entry ? 'its request never arrived' : 'the policy is not loaded in this worker';
    fail(header.task, 'crash', what);
    return;
  }
  current = { task: header.task, key: entry.key, deadline: header.deadline };
  try {
    const output = entry.guest.call(header.operation, payload, host, header.fuel);
    if (channel.writeOutput(output)) {
      channel.finish(DONE_OUTPUT);
    } else {
      send({ type: 'result', task: header.task, output });
      channel.finish(DONE_MESSAGE);
    }
  } catch (e) {
    const [reason, text] = classify(entry.guest, entry.spec, e);
    fail(header.task, reason, text);
  } finally {
    current = undefined;
  }
}

/**
 * After a call the thread waits this long for the next one in `Atomics.wait` (a futex wake,
 * no event-loop turn), then parks in its event loop, where V8 and Node run the tasks they
 * post (GC steps, finalizers). A busy thread also passes through the loop this often.
 */
const WAIT_MS = 20;

function handle(bits: number): void {
  // Control first: a registration or a large request is always posted before its call.
  if (bits & DOOR_CONTROL) {
    for (let m = receiveMessageOnPort(boot.control); m; m = receiveMessageOnPort(boot.control)) {
      control(m.message as ToWorker);
    }
  }
  if (bits & DOOR_CALL) call();
}

function serve(): void {
  handle(channel.take());
  const until = performance.now() + WAIT_MS;
  for (let left = WAIT_MS; left > 0 && channel.sleep(left); left = until - performance.now()) {
    handle(channel.take());
  }
  void channel.rung().then(serve);
}

send({ type: 'ready', fuelPerMs: measureFuelPerMs() });
// Atomics.waitAsync does not keep the event loop alive; the pool terminates the thread.
setInterval(() => undefined, 2 ** 30);
serve();
