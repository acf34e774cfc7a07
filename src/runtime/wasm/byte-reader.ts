import { PalisadeError } from '../../shared/errors.js';

/**
 * A cursor over WebAssembly binary bytes. Every failure names the byte offset in the whole
 * module (not in the section), so a user can find it with `xxd` or `wasm-objdump`.
 */
export class ByteReader {
  private pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    /** One past the last byte this reader may read (the end of the current section). */
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A PalisadeError about the module at `offset` (default: the current position). */
  malformed(message: string, offset = this.pos): PalisadeError {
    return malformedAt(offset, message);
  }

  byte(what = 'byte'): number {
    if (this.pos >= this.end) throw this.malformed(`unexpected end while reading ${what}`);
    return this.bytes[this.pos++] as number;
  }

  /** Unsigned LEB128 of at most 32 bits (indices, counts, sizes, 32-bit limits). */
  u32(what = 'u32'): number {
    const start = this.pos;
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte(what);
      if (i === 4 && b > 0x0f) throw this.malformed(`${what} does not fit in 32 bits`, start);
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return result;
    }
    throw this.malformed(`${what} is longer than 5 bytes`, start);
  }

  /** Unsigned LEB128 of up to 64 bits (memory64 limits), as a number when it is exact. */
  u64(what = 'u64'): number {
    const start = this.pos;
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(what);
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        if (result > BigInt(Number.MAX_SAFE_INTEGER))
          throw this.malformed(`${what} is too large`, start);
        return Number(result);
      }
    }
    throw this.malformed(`${what} is longer than 10 bytes`, start);
  }

  /** Skips a signed LEB128 (heap type indices are s33). */
  skipSigned(what = 'signed integer'): void {
    for (let i = 0; i < 10; i++) if ((this.byte(what) & 0x80) === 0) return;
    throw this.malformed(`${what} is longer than 10 bytes`);
  }

  take(length: number, what = 'bytes'): Uint8Array {
    if (length > this.end - this.pos)
      throw this.malformed(`${what} runs past the end (${length} bytes wanted)`);
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** A length-prefixed UTF-8 name, as the spec requires for import, export and custom names. */
  name(what = 'name'): string {
    const start = this.pos;
    const raw = this.take(this.u32(`${what} length`), what);
    try {
      return utf8.decode(raw);
    } catch {
      throw this.malformed(`${what} is not valid UTF-8`, start);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function malformedAt(offset: number, message: string): PalisadeError {
  return new PalisadeError(
    'module_invalid',
    `malformed WebAssembly module at offset ${offset} (0x${offset.toString(16)}): ${message}`,
  );
}
