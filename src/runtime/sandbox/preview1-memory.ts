import { PalisadeError } from '../../shared/errors.js';
import { Errno } from './preview1-abi.js';

const EMPTY = new ArrayBuffer(0);

/**
 * The guest's linear memory as host calls see it. `memory.grow` (by the guest, between two host
 * calls) detaches the old ArrayBuffer, so every host call starts with `sync()`, which re-reads
 * `memory.buffer` and rebuilds the views only when it changed. Nothing here calls back into the
 * guest, so the views stay valid for the rest of the host call.
 */
export class GuestMemory {
  private memory: WebAssembly.Memory | undefined;
  private buffer: ArrayBufferLike = EMPTY;
  private dataView = new DataView(EMPTY);
  private byteView = new Uint8Array(EMPTY);

  bind(memory: WebAssembly.Memory): void {
    this.memory = memory;
    this.buffer = EMPTY;
  }

  /** Refreshes the views if memory grew; throws if the host never bound a memory. */
  sync(): this {
    const memory = this.memory;
    if (memory === undefined) {
      throw new PalisadeError(
        'internal_error',
        'a WASI function was called before the host bound the guest memory (Preview1.bind)',
      );
    }
    const buffer = memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.dataView = new DataView(buffer);
      this.byteView = new Uint8Array(buffer);
    }
    return this;
  }

  get view(): DataView {
    return this.dataView;
  }

  /** True for shared memory, whose views Web Crypto's spec refuses (Node accepts them today). */
  get shared(): boolean {
    return !(this.buffer instanceof ArrayBuffer);
  }

  /**
   * Guest bytes [ptr, ptr + length). Checked, because `subarray` would silently clamp an
   * out-of-bounds range; the RangeError becomes EFAULT (see `faultOr`).
   */
  slice(ptr: number, length: number): Uint8Array {
    if (ptr + length > this.byteView.length) {
      throw new RangeError(`guest range ${ptr}+${length} is outside memory`);
    }
    return this.byteView.subarray(ptr, ptr + length);
  }
}

/**
 * Error handler of every host function that touches memory: a pointer outside memory (the
 * RangeError of a DataView or typed-array access) is the guest's mistake and answers EFAULT, as a
 * kernel would. Anything else propagates and ends the run as a trap — including V8's stack
 * overflow, which is also a RangeError but means the guest must not go on.
 */
export function faultOr(e: unknown): number {
  if (e instanceof RangeError && !e.message.startsWith('Maximum call stack')) return Errno.fault;
  throw e;
}
