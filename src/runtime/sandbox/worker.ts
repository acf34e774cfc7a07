import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { HostCallRequest, HostCallResult } from '../capabilities/types.js';
import { createGuest as gatekeeperGuest } from '../gatekeeper/guest.js';
import { createGuest as wapcGuest } from '../kubewarden-wapc/guest.js';
import { createGuest as opaGuest } from '../opa/guest.js';
import { createGuest as wasiGuest } from '../wasi/guest.js';
import { measureFuelPerMs } from './calibration.js';
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
import type { FailureReason, FromWorker, HostReply, ToWorker, WorkerBoot } from './protocol.js';

/**
 * One sandbox worker: holds the policies' compiled modules and runs one guest call at a
 * time, so a guest that spins blocks only this thread, never the HTTP event loop.
 */
const FACTORIES: Record<ExecutionMode, GuestFactory> = {
  'kubewarden-wapc': wapcGuest,
  wasi: wasiGuest,
  opa: opaGuest,
  gatekeeper: gatekeeperGuest,
};

const port = parentPort;
if (!port) throw new Error('the sandbox worker must run in a worker thread');
const boot = workerData as WorkerBoot;
const signal = new Int32Array(boot.signal);
const guests = new Map<string, { guest: Guest; spec: GuestSpec }>();
let current: { task: number; key: string; deadline: number } | undefined;
let sequence = 0;

const send = (message: FromWorker): void => {
  port.postMessage(message);
};

const host: GuestHost = {
  call(request: HostCallRequest): HostCallResult {
    if (!current) return { ok: false, error: 'host capabilities are not available here' };
    const wait = current.deadline - Date.now();
    if (wait <= 0) return { ok: false, error: 'the evaluation deadline passed' };
    const seq = ++sequence;
    Atomics.store(signal, 0, 0);
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
      Atomics.wait(signal, 0, 0, left);
      Atomics.store(signal, 0, 0);
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
  if (fuel !== undefined && fuel < 0n) return ['timeout', 'fuel exhausted'];
  const capBytes = spec.maxMemoryPages * PAGE_BYTES;
  if (guest.memoryBytes() >= capBytes - 16 * PAGE_BYTES || e instanceof RangeError) {
    return ['memory', message];
  }
  return ['trap', message];
}

function handle(message: ToWorker): void {
  switch (message.type) {
    case 'register': {
      try {
        const factory = FACTORIES[message.spec.mode];
        guests.set(message.key, { guest: factory(message.spec), spec: message.spec });
        send({ type: 'registered', key: message.key });
      } catch (e) {
        send({ type: 'registered', key: message.key, error: String(e) });
      }
      return;
    }
    case 'unregister':
      guests.delete(message.key);
      return;
    case 'call': {
      const entry = guests.get(message.key);
      if (!entry) {
        send({
          type: 'failure',
          task: message.task,
          reason: 'crash',
          message: `policy ${message.key} is not loaded in this worker`,
        });
        return;
      }
      current = { task: message.task, key: message.key, deadline: message.deadline };
      try {
        const output = entry.guest.call(message.operation, message.payload, host, message.fuel);
        send({ type: 'result', task: message.task, output });
      } catch (e) {
        const [reason, text] = classify(entry.guest, entry.spec, e);
        send({ type: 'failure', task: message.task, reason, message: text });
      } finally {
        current = undefined;
      }
      return;
    }
  }
}

port.on('message', handle);
send({ type: 'ready', fuelPerMs: measureFuelPerMs() });
