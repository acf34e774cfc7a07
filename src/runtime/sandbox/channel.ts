import type { GuestOperation } from './guest.js';

/**
 * The shared memory between the pool and one sandbox worker. A call's header and its
 * request are written here and the worker is woken with `Atomics.notify`; its output comes
 * back the same way and the pool learns of it with `Atomics.waitAsync`. Compared with a
 * message each way, this saves the structured clones and the port machinery: about 25 µs of
 * the ~165 µs a C-fixture call cost through the pool on the 2-core CI machine. Anything that
 * does not fit goes as a message instead.
 */

/** Request and output bytes that travel through shared memory; larger ones go as messages. */
export const CHANNEL_BYTES = 1024 * 1024;

/** Int32 word indexes of the header. */
const DOOR = 0;
const DONE = 1;
/** 1 when a host-call answer is waiting on the replies port. */
export const HOST_WORD = 2;
const TASK = 3;
const SLOT = 4;
const OPERATION = 5;
/** Request bytes in the data area, or -1 when the request was sent on the control port. */
const LENGTH = 6;
const HAS_FUEL = 7;
const OUTPUT_LENGTH = 8;
/** Byte offsets of the 8-byte fields, and of the data area. */
const FUEL_AT = 40;
const DEADLINE_AT = 48;
const HEADER_BYTES = 64;

/** Bits of the door word; an idle worker sleeps while it is 0. */
export const DOOR_CALL = 1;
export const DOOR_CONTROL = 2;

/** Values of the done word: 0 while a call runs. */
export const DONE_OUTPUT = 1;
/** The outcome is a `result` or `failure` message, posted on the events port before. */
export const DONE_MESSAGE = 2;
/** Set by the pool when it gives up on the worker, to release its own waiter. */
const DONE_ABANDONED = 3;

const OPERATIONS: readonly GuestOperation[] = ['validate', 'validate_settings', 'protocol_version'];

export interface CallHeader {
  readonly task: number;
  /** The registration's number in the pool: a key string would need a message. */
  readonly slot: number;
  readonly operation: GuestOperation;
  /** Request bytes in the data area, or -1 when it came on the control port. */
  readonly length: number;
  readonly fuel: bigint | undefined;
  readonly deadline: number;
}

type WaitAsync = (
  view: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
/** ES2024, in every supported Node, but the project compiles against the ES2023 library. */
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

const encoder = new TextEncoder();

/** Typed views over one worker's shared buffer; both threads build one over the same memory. */
export class Channel {
  readonly words: Int32Array;
  private readonly fuel: BigInt64Array;
  private readonly deadline: Float64Array;
  private readonly data: Uint8Array;

  constructor(
    readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(HEADER_BYTES + CHANNEL_BYTES),
  ) {
    this.words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.fuel = new BigInt64Array(buffer, FUEL_AT, 1);
    this.deadline = new Float64Array(buffer, DEADLINE_AT, 1);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
  }

  /**
   * Encodes the request straight into shared memory. Returns its length, or -1 when it does
   * not fit and must travel as a message.
   */
  writeRequest(payload: string | Uint8Array): number {
    if (typeof payload !== 'string') {
      if (payload.length > this.data.length) return -1;
      this.data.set(payload);
      return payload.length;
    }
    const { read, written } = encoder.encodeInto(payload, this.data);
    return read === payload.length ? written : -1;
  }

  /** Main thread: publishes a call and wakes the worker. The worker must be idle. */
  post(header: CallHeader): void {
    const w = this.words;
    w[TASK] = header.task;
    w[SLOT] = header.slot;
    w[OPERATION] = OPERATIONS.indexOf(header.operation);
    w[LENGTH] = header.length;
    w[HAS_FUEL] = header.fuel === undefined ? 0 : 1;
    this.fuel[0] = header.fuel ?? 0n;
    this.deadline[0] = header.deadline;
    Atomics.store(w, DONE, 0);
    this.ring(DOOR_CALL);
  }

  /** Raises a door bit; the seq-cst store also publishes every plain write made before. */
  ring(bit: number): void {
    Atomics.or(this.words, DOOR, bit);
    Atomics.notify(this.words, DOOR);
  }

  /**
   * Main thread: settles when the worker marks the call done (or the pool abandons it).
   * `Atomics.waitAsync` does not keep the event loop alive; the worker thread does.
   */
  async done(): Promise<void> {
    for (;;) {
      const waiting = waitAsync(this.words, DONE, 0);
      if (!waiting.async) return;
      await waiting.value;
      // The worker stores the word before it notifies. When the pool saw the store first
      // (not-equal above) and started the next call, that late notify wakes the new waiter
      // while the word is 0 again: wait anew. Seen under load, about once in 40 000 calls.
      if (Atomics.load(this.words, DONE) !== 0) return;
    }
  }

  /** The done word: one of the DONE_* values, 0 while the call runs. */
  status(): number {
    return Atomics.load(this.words, DONE);
  }

  /** Main thread: a copy of the output, since the next call reuses the memory. */
  output(): Uint8Array {
    return this.data.slice(0, this.words[OUTPUT_LENGTH]);
  }

  /** Main thread: wakes its own waiter after the worker is gone. */
  abandon(): void {
    Atomics.store(this.words, DONE, DONE_ABANDONED);
    Atomics.notify(this.words, DONE);
  }

  /** Worker: sleeps until a door bit is raised or `ms` pass; false when they passed. */
  sleep(ms: number): boolean {
    return Atomics.wait(this.words, DOOR, 0, ms) !== 'timed-out';
  }

  /** Worker: the door bits raised since the last take, cleared. */
  take(): number {
    return Atomics.exchange(this.words, DOOR, 0);
  }

  /** Worker: settles when a door bit is raised, meanwhile the event loop runs. */
  rung(): Promise<unknown> {
    const waiting = waitAsync(this.words, DOOR, 0);
    if (waiting.async) return waiting.value;
    // Already raised; still pass through the event loop (a microtask would not).
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Worker: the call just announced. */
  header(): CallHeader {
    const w = this.words;
    return {
      task: w[TASK] ?? 0,
      slot: w[SLOT] ?? 0,
      operation: OPERATIONS[w[OPERATION] ?? 0] ?? 'validate',
      length: w[LENGTH] ?? -1,
      fuel: w[HAS_FUEL] === 1 ? this.fuel[0] : undefined,
      deadline: this.deadline[0] ?? 0,
    };
  }

  /** Worker: a view of the request, valid until the call ends (guests copy it in). */
  request(length: number): Uint8Array {
    return this.data.subarray(0, length);
  }

  /** Worker: stores the output when it fits; false means it must go as a message. */
  writeOutput(output: Uint8Array): boolean {
    if (output.length > this.data.length) return false;
    this.data.set(output);
    this.words[OUTPUT_LENGTH] = output.length;
    return true;
  }

  /** Worker: ends the call and wakes the pool. */
  finish(status: typeof DONE_OUTPUT | typeof DONE_MESSAGE): void {
    Atomics.store(this.words, DONE, status);
    Atomics.notify(this.words, DONE);
  }
}
