/** Encoding helpers for the few structures Palisade writes back into a module. */

export function u32Leb(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff)
    throw new RangeError(`${value} is not an unsigned 32-bit integer`);
  return unsignedLeb(value);
}

/** Unsigned LEB128 of a non-negative safe integer (memory64 limits go past 32 bits). */
export function unsignedLeb(value: number): Uint8Array {
  const out: number[] = [];
  let rest = value;
  do {
    const low = rest % 128;
    rest = Math.floor(rest / 128);
    out.push(rest > 0 ? low | 0x80 : low);
  } while (rest > 0);
  return Uint8Array.from(out);
}

export function encodeName(name: string): Uint8Array {
  const raw = new TextEncoder().encode(name);
  return concatBytes([u32Leb(raw.length), raw]);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A whole section: id, size and content. */
export function encodeSection(id: number, content: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.of(id), u32Leb(content.length), content]);
}

/** A byte range of the original module replaced by new bytes (empty bytes delete it). */
export interface Splice {
  readonly start: number;
  readonly end: number;
  readonly bytes: Uint8Array;
}

/** Applies non-overlapping splices, in any order, to a copy of `bytes`. */
export function applySplices(bytes: Uint8Array, splices: readonly Splice[]): Uint8Array {
  const sorted = [...splices].sort((a, b) => a.start - b.start);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const s of sorted) {
    if (s.start < at) throw new RangeError('overlapping splices');
    parts.push(bytes.subarray(at, s.start), s.bytes);
    at = s.end;
  }
  parts.push(bytes.subarray(at));
  return concatBytes(parts);
}
