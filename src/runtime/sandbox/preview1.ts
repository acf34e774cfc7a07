import { getRandomValues } from 'node:crypto';
import { PalisadeError } from '../../shared/errors.js';
import {
  Clock,
  Errno,
  FDFLAGS_ALL,
  FDSTAT,
  FILESTAT_PREVIEW0,
  FILESTAT_PREVIEW1,
  FILETYPE_CHARACTER_DEVICE,
  IOVEC_SIZE,
  STDIN_RIGHTS,
  STDOUT_RIGHTS,
  SUBSCRIPTION_PREVIEW0,
  SUBSCRIPTION_PREVIEW1,
  type FilestatLayout,
} from './preview1-abi.js';
import { faultOr, GuestMemory } from './preview1-memory.js';
import { createPollOneoff } from './preview1-poll.js';
import { STATELESS_IMPORTS } from './preview1-stateless.js';
import { Stdio } from './preview1-stdio.js';

export { ProcExit } from './preview1-stateless.js';

export interface Preview1Options {
  /** argv, program name first: Kubewarden's WASI mode passes `["policy.wasm", "validate"]`. */
  readonly args: readonly string[];
  /** Initial stdin; not copied, so it must not change while the guest runs. */
  readonly stdin?: Uint8Array;
  /**
   * Limit of each of stdout and stderr. A write that would cross it fails with EFBIG and
   * nothing of it is kept, so a runaway guest cannot grow the host's memory.
   */
  readonly maxOutputBytes?: number;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** Web Crypto's per-call limit (a QuotaExceededError beyond it). */
const RANDOM_CHUNK = 65536;
const NS_PER_MS = 1_000_000n;
const encoder = new TextEncoder();

type HostFunction = (...args: never[]) => number;

/**
 * An in-memory WASI preview1 host for one run of one guest: argv, a stdin fed by the host, and
 * captured stdout/stderr — no files, no preopens, no environment, no network, no sleeping.
 * It replaces `node:wasi`, which needs real file descriptors and is no sandbox by its own docs.
 *
 * Built per evaluation (WASI-mode policies are a fresh instance per call), so construction only
 * stores its options; argv is encoded when the guest asks for it and the output buffers are
 * allocated on first write. Usage: `new Instance(module, { ...p.imports(), … })`, then
 * `p.bind(memory)` before running the guest, then read `stdout`/`stderr`.
 */
export class Preview1 {
  private readonly memory = new GuestMemory();
  private readonly stdio: Stdio;
  private readonly args: readonly string[];
  private argBytes: Uint8Array | undefined;
  private importObject: WebAssembly.Imports | undefined;

  constructor(options: Preview1Options) {
    const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new PalisadeError(
        'internal_error',
        `maxOutputBytes must be a byte count, not ${limit}`,
      );
    }
    if (options.args.some((arg) => arg.includes('\0'))) {
      throw new PalisadeError('internal_error', 'WASI arguments cannot contain NUL characters');
    }
    this.args = options.args;
    this.stdio = new Stdio(limit);
    if (options.stdin !== undefined) this.stdio.stdin.push(options.stdin);
  }

  /** Everything written to fd 1 so far (a view; later writes never change these bytes). */
  get stdout(): Uint8Array {
    return this.stdio.stdout.contents;
  }

  /** Everything written to fd 2 so far. */
  get stderr(): Uint8Array {
    return this.stdio.stderr.contents;
  }

  /** True once a write was refused for `maxOutputBytes`: stdout or stderr is incomplete. */
  get outputLimitReached(): boolean {
    return this.stdio.overflowed;
  }

  /**
   * Queues bytes after what stdin still holds: Kubewarden's WASI mode answers a `host.call` this
   * way, and the guest reads the answer next. Not copied. Bytes appended after the guest read
   * end of input are still delivered by its next read.
   */
  appendStdin(bytes: Uint8Array): void {
    this.stdio.stdin.push(bytes);
  }

  /** Gives the host functions the guest's memory; call it once the instance exists. */
  bind(memory: WebAssembly.Memory): void {
    this.memory.bind(memory);
  }

  /**
   * Import namespaces `wasi_snapshot_preview1` and `wasi_unstable` (preview0, still imported by old
   * TinyGo guests), both defining every function of the snapshot. They differ only where preview0's
   * layouts do: `poll_oneoff` subscriptions and `fd_filestat_get`. Built once per Preview1.
   */
  imports(): WebAssembly.Imports {
    if (this.importObject !== undefined) return this.importObject;
    const own: Record<string, HostFunction> = {
      args_get: (argv: number, buf: number) => this.argsGet(argv >>> 0, buf >>> 0),
      args_sizes_get: (count: number, size: number) => this.argsSizesGet(count >>> 0, size >>> 0),
      environ_sizes_get: (count: number, size: number) => this.sizesGet(count >>> 0, size >>> 0),
      clock_res_get: (id: number, out: number) => this.clockResGet(id >>> 0, out >>> 0),
      clock_time_get: (id: number, _precision: bigint, out: number) =>
        this.clockTimeGet(id >>> 0, out >>> 0),
      random_get: (buf: number, length: number) => this.randomGet(buf >>> 0, length >>> 0),
      fd_read: (fd: number, iovs: number, count: number, out: number) =>
        this.fdRead(fd >>> 0, iovs >>> 0, count >>> 0, out >>> 0),
      fd_write: (fd: number, iovs: number, count: number, out: number) =>
        this.fdWrite(fd >>> 0, iovs >>> 0, count >>> 0, out >>> 0),
      fd_close: (fd: number) => (this.stdio.close(fd >>> 0) ? Errno.success : Errno.badf),
      fd_fdstat_get: (fd: number, out: number) => this.fdstatGet(fd >>> 0, out >>> 0),
      fd_fdstat_set_flags: (fd: number, flags: number) => this.fdstatSetFlags(fd >>> 0, flags),
      fd_filestat_get: (fd: number, out: number) =>
        this.filestatGet(fd >>> 0, out >>> 0, FILESTAT_PREVIEW1),
      fd_seek: (fd: number) => this.notSeekable(fd >>> 0),
      fd_tell: (fd: number) => this.notSeekable(fd >>> 0),
      poll_oneoff: createPollOneoff(this.memory, this.stdio, SUBSCRIPTION_PREVIEW1),
    };
    // Both inherit from the one shared table: making a fresh per-run object a prototype (as
    // `Object.create(preview1)` would) costs V8 a map change per run, measured at ~15 us.
    const preview1 = Object.assign(Object.create(STATELESS_IMPORTS) as object, own);
    const preview0 = Object.assign(Object.create(STATELESS_IMPORTS) as object, own, {
      fd_filestat_get: (fd: number, out: number) =>
        this.filestatGet(fd >>> 0, out >>> 0, FILESTAT_PREVIEW0),
      poll_oneoff: createPollOneoff(this.memory, this.stdio, SUBSCRIPTION_PREVIEW0),
    });
    this.importObject = {
      wasi_snapshot_preview1: preview1,
      wasi_unstable: preview0,
    };
    return this.importObject;
  }

  /** argv as one buffer of NUL-terminated strings, encoded on first use. */
  private encodedArgs(): Uint8Array {
    this.argBytes ??= encoder.encode(this.args.map((arg) => `${arg}\0`).join(''));
    return this.argBytes;
  }

  private argsSizesGet(countPtr: number, sizePtr: number): number {
    try {
      const view = this.memory.sync().view;
      view.setUint32(countPtr, this.args.length, true);
      view.setUint32(sizePtr, this.encodedArgs().length, true);
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  }

  private argsGet(argvPtr: number, bufPtr: number): number {
    try {
      const bytes = this.encodedArgs();
      const memory = this.memory.sync();
      memory.slice(argvPtr, this.args.length * 4);
      memory.slice(bufPtr, bytes.length).set(bytes);
      let offset = 0;
      for (let i = 0; i < this.args.length; i++) {
        memory.view.setUint32(argvPtr + i * 4, bufPtr + offset, true);
        offset = bytes.indexOf(0, offset) + 1;
      }
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  }

  /** `environ_sizes_get`: the environment is always empty (`environ_get` has nothing to write). */
  private sizesGet(countPtr: number, sizePtr: number): number {
    try {
      const view = this.memory.sync().view;
      view.setUint32(countPtr, 0, true);
      view.setUint32(sizePtr, 0, true);
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  }

  /** Realtime comes from `Date.now()` (millisecond steps), monotonic from `hrtime` (ns). */
  private clockResGet(id: number, out: number): number {
    if (id !== Clock.realtime && id !== Clock.monotonic) return Errno.inval;
    try {
      this.memory.sync().view.setBigUint64(out, id === Clock.realtime ? NS_PER_MS : 1n, true);
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  }

  /** CPU-time clocks answer EINVAL (the spec's answer for unsupported clocks). */
  private clockTimeGet(id: number, out: number): number {
    if (id !== Clock.realtime && id !== Clock.monotonic) return Errno.inval;
    try {
      const now = id === Clock.realtime ? BigInt(Date.now()) * NS_PER_MS : process.hrtime.bigint();
      this.memory.sync().view.setBigUint64(out, now, true);
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  }

  private randomGet(ptr: number, length: number): number {
    try {
      const memory = this.memory.sync();
      const target = memory.slice(ptr, length);
      const scratch = memory.shared ? new Uint8Array(Math.min(length, RANDOM_CHUNK)) : undefined;
      for (let at = 0; at < length; at += RANDOM_CHUNK) {
        const part = target.subarray(at, at + RANDOM_CHUNK);
        if (scratch === undefined) getRandomValues(part);
        else part.set(getRandomValues(scratch.subarray(0, part.length)));
      }
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  }

  /** Reads fill the iovecs in order from stdin; 0 bytes means end of input (never blocks). */
  private fdRead(fd: number, iovs: number, count: number, nreadPtr: number): number {
    if (fd !== 0 || !this.stdio.isOpen(fd)) return Errno.badf;
    try {
      const memory = this.memory.sync();
      const view = memory.view;
      view.getUint32(nreadPtr, true);
      // Check every buffer before consuming stdin, so EFAULT loses no input.
      for (let i = 0; i < count; i++) iovec(memory, iovs + i * IOVEC_SIZE);
      let total = 0;
      for (let i = 0; i < count; i++) {
        const target = iovec(memory, iovs + i * IOVEC_SIZE);
        const n = this.stdio.stdin.read(target);
        total += n;
        if (n < target.length) break;
      }
      view.setUint32(nreadPtr, total, true);
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  }

  /** Writes are all or nothing: EFBIG keeps none of a write that would cross the limit. */
  private fdWrite(fd: number, iovs: number, count: number, nwrittenPtr: number): number {
    const out = this.stdio.output(fd);
    if (out === undefined) return Errno.badf;
    try {
      const memory = this.memory.sync();
      memory.view.getUint32(nwrittenPtr, true);
      let total = 0;
      for (let i = 0; i < count; i++) total += iovec(memory, iovs + i * IOVEC_SIZE).length;
      if (total > out.room) {
        this.stdio.overflowed = true;
        return Errno.fbig;
      }
      out.reserve(total);
      for (let i = 0; i < count; i++) out.append(iovec(memory, iovs + i * IOVEC_SIZE));
      memory.view.setUint32(nwrittenPtr, total, true);
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  }

  private fdstatGet(fd: number, out: number): number {
    if (!this.stdio.isOpen(fd)) return Errno.badf;
    try {
      const memory = this.memory.sync();
      memory.slice(out, FDSTAT.size).fill(0);
      const view = memory.view;
      view.setUint8(out + FDSTAT.filetype, FILETYPE_CHARACTER_DEVICE);
      view.setUint16(out + FDSTAT.flags, this.stdio.getFlags(fd), true);
      view.setBigUint64(out + FDSTAT.rightsBase, fd === 0 ? STDIN_RIGHTS : STDOUT_RIGHTS, true);
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  }

  private fdstatSetFlags(fd: number, flags: number): number {
    if (!this.stdio.isOpen(fd)) return Errno.badf;
    if ((flags & ~FDFLAGS_ALL) !== 0) return Errno.inval;
    this.stdio.setFlags(fd, flags);
    return Errno.success;
  }

  /** Stdio as a character device with one link; sizes and times are zero. */
  private filestatGet(fd: number, out: number, layout: FilestatLayout): number {
    if (!this.stdio.isOpen(fd)) return Errno.badf;
    try {
      const memory = this.memory.sync();
      memory.slice(out, layout.size).fill(0);
      memory.view.setUint8(out + layout.filetype, FILETYPE_CHARACTER_DEVICE);
      memory.view.setUint32(out + layout.nlink, 1, true);
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  }

  /** `fd_seek`/`fd_tell`: stdio are pipes, as far as the guest can tell. */
  private notSeekable(fd: number): number {
    return this.stdio.isOpen(fd) ? Errno.spipe : Errno.badf;
  }
}

/** The guest buffer an `iovec`/`ciovec` at `at` describes (checked). */
function iovec(memory: GuestMemory, at: number): Uint8Array {
  const view = memory.view;
  return memory.slice(view.getUint32(at, true), view.getUint32(at + 4, true));
}
