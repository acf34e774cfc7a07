const EMPTY = new Uint8Array(0);
const FIRST_CAPACITY = 4096;

/**
 * An append-only byte buffer with a hard limit, for what a guest writes to stdout or stderr.
 * It starts unallocated (most guests never write to stderr) and doubles up to the limit, so a
 * chatty guest costs at most `limit` bytes and a quiet one nothing.
 */
export class OutputBuffer {
  private bytes: Uint8Array = EMPTY;
  private used = 0;

  constructor(readonly limit: number) {}

  /** Bytes that still fit under the limit. */
  get room(): number {
    return this.limit - this.used;
  }

  /**
   * The bytes written so far. A view, not a copy: later writes only append past its end or
   * move to a new allocation, so the returned bytes never change under the caller.
   */
  get contents(): Uint8Array {
    return this.bytes.subarray(0, this.used);
  }

  /** Makes room for `extra` more bytes; the caller has checked `room`. */
  reserve(extra: number): void {
    const needed = this.used + extra;
    if (needed <= this.bytes.length) return;
    const grown = Math.min(this.limit, Math.max(needed, FIRST_CAPACITY, this.bytes.length * 2));
    const next = new Uint8Array(grown);
    next.set(this.contents);
    this.bytes = next;
  }

  /** Appends bytes (possibly a view of guest memory, which is copied). Call `reserve` first. */
  append(source: Uint8Array): void {
    this.bytes.set(source, this.used);
    this.used += source.length;
  }
}

/**
 * What stdin still holds: the chunks given to the host (the request, then each host-call answer
 * appended while the guest runs), consumed in order. Chunks are never copied or written to, so
 * the caller may hand over shared or cached bytes.
 */
export class InputQueue {
  private readonly chunks: Uint8Array[] = [];
  private index = 0;
  private offset = 0;
  private left = 0;

  /** Bytes not yet read. */
  get available(): number {
    return this.left;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.left += chunk.length;
  }

  /** Copies up to `target.length` bytes into `target`; returns how many (0 = end of input). */
  read(target: Uint8Array): number {
    let done = 0;
    while (done < target.length && this.index < this.chunks.length) {
      const chunk = this.chunks[this.index] as Uint8Array;
      const n = Math.min(chunk.length - this.offset, target.length - done);
      target.set(chunk.subarray(this.offset, this.offset + n), done);
      done += n;
      this.offset += n;
      if (this.offset === chunk.length) {
        this.chunks[this.index] = EMPTY;
        this.index++;
        this.offset = 0;
      }
    }
    this.left -= done;
    return done;
  }
}

/**
 * Descriptors 0, 1 and 2 — the only ones a run has. Each can be closed once; its `fdflags` are
 * kept so that `fd_fdstat_get` reports what `fd_fdstat_set_flags` set (Go and wasi-libc read
 * them back), though no flag changes behaviour: stdin never blocks.
 */
export class Stdio {
  readonly stdin = new InputQueue();
  readonly stdout: OutputBuffer;
  readonly stderr: OutputBuffer;
  /** Set when a write was refused for the output limit: what was captured is incomplete. */
  overflowed = false;
  private open = 0b111;
  private readonly flags = [0, 0, 0];

  constructor(limit: number) {
    this.stdout = new OutputBuffer(limit);
    this.stderr = new OutputBuffer(limit);
  }

  isOpen(fd: number): boolean {
    return fd <= 2 && (this.open & (1 << fd)) !== 0;
  }

  /** Returns false when `fd` was not open. */
  close(fd: number): boolean {
    if (!this.isOpen(fd)) return false;
    this.open &= ~(1 << fd);
    return true;
  }

  getFlags(fd: number): number {
    return this.flags[fd] ?? 0;
  }

  setFlags(fd: number, flags: number): void {
    this.flags[fd] = flags;
  }

  /** The buffer behind a writable descriptor, or undefined (stdin, closed, or unknown). */
  output(fd: number): OutputBuffer | undefined {
    if (fd === 0 || !this.isOpen(fd)) return undefined;
    return fd === 1 ? this.stdout : this.stderr;
  }

  readable(fd: number): number | undefined {
    return fd === 0 && this.isOpen(0) ? this.stdin.available : undefined;
  }

  writable(fd: number): number | undefined {
    return this.output(fd)?.room;
  }
}
