/**
 * IP address and prefix parsing with Go `net/netip` semantics (strict dotted quads without
 * leading zeros, RFC 4291 IPv6 text forms, RFC 5952 canonical output), which Node's `net`
 * module does not reproduce (it accepts and prints forms Go rejects or prints differently).
 */

export interface Addr {
  /** 4 or 16 bytes. */
  readonly bytes: Uint8Array;
  readonly zone: string;
}

export class AddrParseError extends Error {}

function fail(input: string, reason: string): never {
  throw new AddrParseError(`ParseAddr(${JSON.stringify(input)}): ${reason}`);
}

function parseIPv4(s: string, input: string): Uint8Array {
  const out = new Uint8Array(4);
  let field = 0;
  let val = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c >= '0' && c <= '9') {
      if (digits === 1 && val === 0) fail(input, 'IPv4 field has octet with leading zero');
      val = val * 10 + Number(c);
      digits++;
      if (val > 255) fail(input, 'IPv4 field has value >255');
    } else if (c === '.') {
      if (digits === 0) fail(input, 'IPv4 field must have at least one digit');
      if (field === 3) fail(input, 'IPv4 address too long');
      out[field++] = val;
      val = 0;
      digits = 0;
    } else {
      fail(input, `unexpected character (at ${JSON.stringify(s.slice(i))})`);
    }
  }
  if (digits === 0) fail(input, 'IPv4 field must have at least one digit');
  if (field < 3) fail(input, 'IPv4 address too short');
  out[3] = val;
  return out;
}

function parseIPv6(s: string, input: string): Uint8Array {
  const out = new Uint8Array(16);
  let ellipsis = -1;
  let i = 0;
  let rest = s;
  if (rest.startsWith('::')) {
    ellipsis = 0;
    rest = rest.slice(2);
    if (rest === '') return out;
  }
  while (i < 16) {
    const m = /^[0-9a-fA-F]*/.exec(rest)?.[0] ?? '';
    if (m.length === 0)
      fail(
        input,
        `each colon-separated field must have at least one digit (at ${JSON.stringify(rest)})`,
      );
    if (m.length > 4) fail(input, `IPv6 field has value >=2^16 (at ${JSON.stringify(rest)})`);
    if (rest[m.length] === '.') {
      if (ellipsis < 0 && i !== 12)
        fail(
          input,
          `embedded IPv4 address must replace the final 2 fields of the address (at ${JSON.stringify(rest)})`,
        );
      if (i + 4 > 16)
        fail(
          input,
          `too many hex fields to fit an embedded IPv4 at the end of the address (at ${JSON.stringify(rest)})`,
        );
      out.set(parseIPv4(rest, input), i);
      i += 4;
      rest = '';
      break;
    }
    const v = parseInt(m, 16);
    out[i] = v >> 8;
    out[i + 1] = v & 0xff;
    i += 2;
    rest = rest.slice(m.length);
    if (rest === '') break;
    if (rest[0] !== ':')
      fail(input, `unexpected character, want colon (at ${JSON.stringify(rest)})`);
    if (rest.length === 1)
      fail(input, `colon must be followed by more characters (at ${JSON.stringify(rest)})`);
    rest = rest.slice(1);
    if (rest[0] === ':') {
      if (ellipsis >= 0) fail(input, `multiple :: in address (at ${JSON.stringify(rest)})`);
      ellipsis = i;
      rest = rest.slice(1);
      if (rest === '') break;
    }
  }
  if (rest !== '') fail(input, `trailing garbage after address (at ${JSON.stringify(rest)})`);
  if (i < 16) {
    if (ellipsis < 0) fail(input, 'address string too short');
    const n = 16 - i;
    out.copyWithin(ellipsis + n, ellipsis, i);
    out.fill(0, ellipsis, ellipsis + n);
  } else if (ellipsis >= 0) {
    fail(input, 'the :: must expand to at least one field of zeros');
  }
  return out;
}

/** Go `netip.ParseAddr`. */
export function parseAddr(s: string): Addr {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '.') return { bytes: parseIPv4(s, s), zone: '' };
    if (c === ':') {
      const pct = s.indexOf('%');
      if (pct >= 0 && pct === s.length - 1) fail(s, 'zone must be a non-empty string');
      const zone = pct >= 0 ? s.slice(pct + 1) : '';
      return { bytes: parseIPv6(pct >= 0 ? s.slice(0, pct) : s, s), zone };
    }
    if (c === '%') fail(s, 'missing IPv6 address');
  }
  fail(s, 'unable to parse IP');
}

export function is4(a: Addr): boolean {
  return a.bytes.length === 4;
}

export function is4In6(a: Addr): boolean {
  const b = a.bytes;
  return (
    b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff
  );
}

/** Go `Addr.String()`: dotted quad, or RFC 5952 (longest zero run of two or more becomes `::`). */
export function formatAddr(a: Addr): string {
  const b = a.bytes;
  if (b.length === 4) return b.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  const text =
    bestStart < 0
      ? hex(groups)
      : `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
  return a.zone === '' ? text : `${text}%${a.zone}`;
}

function inPrefix(a: Addr, prefix: readonly number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = Math.floor(i / 8);
    const mask = 0x80 >> (i % 8);
    if (((a.bytes[byte] ?? 0) & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

export const addrPredicates = {
  isUnspecified: (a: Addr): boolean => a.bytes.every((x) => x === 0),
  isLoopback: (a: Addr): boolean =>
    is4(a)
      ? a.bytes[0] === 127
      : inPrefix(a, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128),
  isMulticast: (a: Addr): boolean => (is4(a) ? inPrefix(a, [224], 4) : a.bytes[0] === 0xff),
  isLinkLocalUnicast: (a: Addr): boolean =>
    is4(a) ? inPrefix(a, [169, 254], 16) : inPrefix(a, [0xfe, 0x80], 10),
  isLinkLocalMulticast: (a: Addr): boolean =>
    is4(a) ? inPrefix(a, [224, 0, 0], 24) : inPrefix(a, [0xff, 0x02], 16),
  isGlobalUnicast: (a: Addr): boolean => {
    if (is4(a) && (a.bytes.every((x) => x === 0) || a.bytes.every((x) => x === 255))) return false;
    return (
      !addrPredicates.isUnspecified(a) &&
      !addrPredicates.isLoopback(a) &&
      !addrPredicates.isMulticast(a) &&
      !addrPredicates.isLinkLocalUnicast(a)
    );
  },
};

export interface Prefix {
  readonly addr: Addr;
  readonly bits: number;
}

export class PrefixParseError extends Error {}

/** Go `netip.ParsePrefix`. */
export function parsePrefix(s: string): Prefix {
  const quoted = JSON.stringify(s);
  const slash = s.lastIndexOf('/');
  if (slash < 0) throw new PrefixParseError(`netip.ParsePrefix(${quoted}): no '/'`);
  let addr: Addr;
  try {
    addr = parseAddr(s.slice(0, slash));
  } catch (e) {
    throw new PrefixParseError(
      `netip.ParsePrefix(${quoted}): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (addr.zone !== '')
    throw new PrefixParseError(
      `netip.ParsePrefix(${quoted}): IPv6 zones cannot be present in a prefix`,
    );
  const bitsStr = s.slice(slash + 1);
  const badBits = (): never => {
    throw new PrefixParseError(
      `netip.ParsePrefix(${quoted}): bad bits after slash: ${JSON.stringify(bitsStr)}`,
    );
  };
  if (!/^[0-9]+$/.test(bitsStr) || (bitsStr.length > 1 && bitsStr.startsWith('0'))) badBits();
  const bits = Number(bitsStr);
  if (bits > addr.bytes.length * 8) {
    throw new PrefixParseError(`netip.ParsePrefix(${quoted}): prefix length out of range`);
  }
  return { addr, bits };
}

export function maskPrefix(p: Prefix): Prefix {
  const bytes = new Uint8Array(p.addr.bytes);
  for (let i = 0; i < bytes.length * 8; i++) {
    if (i >= p.bits)
      bytes[Math.floor(i / 8)] = (bytes[Math.floor(i / 8)] ?? 0) & ~(0x80 >> (i % 8));
  }
  return { addr: { bytes, zone: '' }, bits: p.bits };
}

export function prefixContains(p: Prefix, a: Addr): boolean {
  if (p.addr.bytes.length !== a.bytes.length || a.zone !== '') return false;
  return inPrefix(a, [...p.addr.bytes], p.bits);
}

export function addrEquals(a: Addr, b: Addr): boolean {
  return (
    a.zone === b.zone &&
    a.bytes.length === b.bytes.length &&
    a.bytes.every((x, i) => x === b.bytes[i])
  );
}
