import type { MessagePort } from 'node:worker_threads';
import type { HostCallRequest, HostCallResult } from '../capabilities/types.js';
import type { GuestOperation, GuestSpec, LogLevel } from './guest.js';

/** Why a call produced no answer; each becomes a distinct rejection message and metric. */
export type FailureReason = 'timeout' | 'memory' | 'trap' | 'guest' | 'crash';

export type ToWorker =
  | { readonly type: 'register'; readonly key: string; readonly spec: GuestSpec }
  | { readonly type: 'unregister'; readonly key: string }
  | {
      readonly type: 'call';
      readonly task: number;
      readonly key: string;
      readonly operation: GuestOperation;
      readonly payload: Uint8Array;
      readonly fuel: bigint | undefined;
      readonly deadline: number;
    };

export type FromWorker =
  | { readonly type: 'ready'; readonly fuelPerMs: number }
  | { readonly type: 'registered'; readonly key: string; readonly error?: string }
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

/** Handed to each worker at start: where host-call answers arrive and how it is woken. */
export interface WorkerBoot {
  /** Int32Array over it: [0] = 1 when an answer is waiting on `replies`. */
  readonly signal: SharedArrayBuffer;
  readonly replies: MessagePort;
}

/** Sent on `WorkerBoot.replies`; `seq` pairs it with the call that asked. */
export interface HostReply {
  readonly seq: number;
  readonly result: HostCallResult;
}
