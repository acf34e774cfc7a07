import type { MessagePort } from 'node:worker_threads';
import type { HostCallRequest, HostCallResult } from '../capabilities/types.js';
import type { GuestSpec, LogLevel } from './guest.js';

/** Why a call produced no answer; each becomes a distinct rejection message and metric. */
export type FailureReason = 'timeout' | 'memory' | 'trap' | 'guest' | 'crash';

/** The message of a timeout the guest's own fuel counter ended, in its worker. */
export const FUEL_EXHAUSTED = 'fuel exhausted';

/**
 * Sent on `WorkerBoot.control`. The worker sleeps in `Atomics.wait`, not in its event loop,
 * so it reads these with `receiveMessageOnPort` when the control bit of its door is raised.
 */
export type ToWorker =
  | {
      readonly type: 'register';
      readonly slot: number;
      readonly key: string;
      readonly spec: GuestSpec;
    }
  | { readonly type: 'unregister'; readonly slot: number }
  /** A request too large for the channel, posted just before its call is announced. */
  | { readonly type: 'payload'; readonly task: number; readonly payload: Uint8Array };

/** Sent on `WorkerBoot.events`. */
export type FromWorker =
  | { readonly type: 'ready'; readonly fuelPerMs: number }
  | { readonly type: 'registered'; readonly slot: number; readonly error?: string }
  /** An output too large for the channel. */
  | { readonly type: 'result'; readonly task: number; readonly output: Uint8Array }
  | {
      readonly type: 'failure';
      readonly task: number;
      readonly reason: FailureReason;
      readonly message: string;
    }
  | {
      readonly type: 'host-call';
      readonly task: number;
      readonly seq: number;
      readonly request: HostCallRequest;
    }
  | {
      readonly type: 'log';
      readonly key: string;
      readonly level: LogLevel;
      readonly message: string;
    };

/** Handed to each worker at start. */
export interface WorkerBoot {
  /** The worker's `Channel` memory: call header, request and output bytes, wake-up words. */
  readonly channel: SharedArrayBuffer;
  readonly control: MessagePort;
  readonly events: MessagePort;
  /** Host-call answers, apart from control so a guest's host call never meets a registration. */
  readonly replies: MessagePort;
}

/** Sent on `WorkerBoot.replies`; `seq` pairs it with the call that asked. */
export interface HostReply {
  readonly seq: number;
  readonly result: HostCallResult;
}
