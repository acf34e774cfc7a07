import type { Environment } from '@marcbachmann/cel-js';
import { celError, fn, type CelComparable } from './values.js';

const MAX_INT64 = 9223372036854775807n;
const MIN_INT64 = -9223372036854775808n;
const SPLIT_RE = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
const ERR_FORMAT = `quantities must match the regular expression '${SPLIT_RE}'`;
const ERR_SUFFIX = "unable to parse quantity's suffix";

const DECIMAL_SUFFIXES: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18, // prettier-ignore
};
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

const fitsInt64 = (v: bigint): boolean => v >= MIN_INT64 && v <= MAX_INT64;
const pow10 = (n: number): bigint => 10n ** BigInt(n);

/**
 * A Kubernetes `resource.Quantity`: the exact value `unscaled × 10^scale`. `compact` mirrors
 * apimachinery's choice between its int64 fast form and its arbitrary-precision form, because
 * `isInteger()`/`asInteger()` answer from the representation (a value held in the slow form
 * is never "integer"), so matching Kubernetes needs the same bookkeeping.
 */
export class Quantity implements CelComparable {
  constructor(
    readonly unscaled: bigint,
    readonly scale: number,
    readonly compact: boolean,
  ) {}

  compare(other: Quantity): number {
    const s = Math.min(this.scale, other.scale);
    const a = this.unscaled * pow10(this.scale - s);
    const b = other.unscaled * pow10(other.scale - s);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  celEquals(other: unknown): boolean {
    return other instanceof Quantity && this.compare(other) === 0;
  }

  sign(): bigint {
    return this.unscaled > 0n ? 1n : this.unscaled < 0n ? -1n : 0n;
  }

  /** apimachinery `int64Amount.AsInt64`: negative scales are never reduced. */
  asInt64(): bigint | undefined {
    if (!this.compact || this.scale < 0) return undefined;
    const v = this.unscaled * pow10(this.scale);
    return fitsInt64(v) ? v : undefined;
  }

  asApproximateFloat(): number {
    return Number(`${this.unscaled}e${this.scale}`);
  }

  /** apimachinery `Quantity.Add`: stays in the int64 form unless aligning or adding overflows. */
  add(other: Quantity): Quantity {
    const s = Math.min(this.scale, other.scale);
    const a = this.unscaled * pow10(this.scale - s);
    const b = other.unscaled * pow10(other.scale - s);
    const compact =
      this.compact &&
      other.compact &&
      (this.unscaled === 0n ||
        other.unscaled === 0n ||
        (fitsInt64(a) && fitsInt64(b) && fitsInt64(a + b)));
    if (other.unscaled === 0n) return new Quantity(this.unscaled, this.scale, compact);
    if (this.unscaled === 0n) return new Quantity(other.unscaled, other.scale, compact);
    return new Quantity(a + b, s, compact);
  }

  negate(): Quantity {
    return new Quantity(-this.unscaled, this.scale, this.compact);
  }
}

/** Rounds a positive `value / 10^shift` up, as apimachinery rounds parsed values to nano units. */
function ceilDiv(value: bigint, divisor: bigint): bigint {
  return (value + divisor - 1n) / divisor;
}

interface Scanned {
  positive: boolean;
  num: string;
  denom: string;
  suffix: string;
}

/** apimachinery `parseQuantityString`, including its leniencies (`.5`, `1.`, a bare sign). */
function scan(str: string): Scanned {
  let pos = 0;
  let positive = true;
  if (str[0] === '-' || str[0] === '+') {
    positive = str[0] === '+';
    pos++;
  }
  while (pos < str.length && str[pos] === '0') pos++;
  if (pos >= str.length) return { positive, num: '0', denom: '', suffix: '' };
  const digits = /^[0-9]*/;
  let num = digits.exec(str.slice(pos))?.[0] ?? '';
  pos += num.length;
  if (num === '') num = '0';
  let denom = '';
  if (str[pos] === '.') {
    pos++;
    denom = digits.exec(str.slice(pos))?.[0] ?? '';
    pos += denom.length;
  }
  const suffix = str.slice(pos);
  if (!/^[eEinumkKMGTP]*[-+]?[0-9]*$/.test(suffix)) throw celError(ERR_FORMAT);
  return { positive, num, denom, suffix };
}

function interpretSuffix(suffix: string): { base: 2 | 10; exponent: number } | undefined {
  const dec = DECIMAL_SUFFIXES[suffix];
  if (dec !== undefined) return { base: 10, exponent: dec };
  const bin = BINARY_SUFFIXES[suffix];
  if (bin !== undefined) return { base: 2, exponent: bin };
  const m = /^[eE]([-+]?[0-9]+)$/.exec(suffix);
  if (m?.[1] === undefined) return undefined;
  const exponent = Number(m[1]);
  return Number.isSafeInteger(exponent) ? { base: 10, exponent } : undefined;
}

/** Parses a Kubernetes quantity string exactly as `resource.ParseQuantity` does. */
export function parseQuantity(str: string): Quantity {
  if (str.length === 0) throw celError(ERR_FORMAT);
  if (str === '0') return new Quantity(0n, 0, true);
  const { positive, num, denom, suffix } = scan(str);
  const interp = interpretSuffix(suffix);
  if (interp === undefined) throw celError(ERR_SUFFIX);
  const { base, exponent } = interp;
  const mantissa = BigInt(num + denom);
  const signed = (v: bigint): bigint => (positive ? v : -v);

  // The int64 fast path: taken when the digits are few enough and the scale is at least nano.
  if (base === 10) {
    const scale = exponent - denom.length;
    if (18 - (num.length + denom.length) >= 0 && scale >= -9) {
      return new Quantity(signed(mantissa), scale, true);
    }
  } else if (denom.length === 0) {
    const precision = 15 - num.length - Math.trunc((exponent * 3) / 10) - 1;
    const value = mantissa << BigInt(exponent);
    if (precision >= 0 && fitsInt64(value)) return new Quantity(signed(value), 0, true);
  }

  // The arbitrary-precision path: exact value, rounded up to nano units, binary capped at int64.
  let unscaled = mantissa;
  let scale = -denom.length;
  if (base === 10) scale += exponent;
  else unscaled <<= BigInt(exponent);
  if (scale < -9 && unscaled !== 0n) {
    unscaled = ceilDiv(unscaled, pow10(-9 - scale));
    scale = -9;
  }
  if (
    base === 2 &&
    new Quantity(unscaled, scale, false).compare(new Quantity(MAX_INT64, 0, false)) > 0
  ) {
    unscaled = MAX_INT64;
    scale = 0;
  }
  return new Quantity(signed(unscaled), scale, false);
}

function isQuantity(s: string): boolean {
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

function asInteger(q: Quantity): bigint {
  const v = q.asInt64();
  if (v === undefined) throw celError('cannot convert value to integer');
  return v;
}

const Q = 'kubernetes.Quantity';

/** Kubernetes quantity library (Kubernetes 1.28). */
export function registerQuantityLibrary(env: Environment): void {
  env.registerType(Q, Quantity);
  env.registerOperator(`${Q} == ${Q}`, (a: Quantity, b: Quantity) => a.celEquals(b));
  fn(env, `quantity(string): ${Q}`, parseQuantity);
  fn(env, 'isQuantity(string): bool', isQuantity);
  fn(env, `sign(${Q}): int`, (q: Quantity) => q.sign());
  fn(env, `${Q}.sign(): int`, (q: Quantity) => q.sign());
  fn(env, `${Q}.isGreaterThan(${Q}): bool`, (a: Quantity, b: Quantity) => a.compare(b) === 1);
  fn(env, `${Q}.isLessThan(${Q}): bool`, (a: Quantity, b: Quantity) => a.compare(b) === -1);
  fn(env, `${Q}.compareTo(${Q}): int`, (a: Quantity, b: Quantity) => BigInt(a.compare(b)));
  fn(env, `${Q}.asApproximateFloat(): double`, (q: Quantity) => q.asApproximateFloat());
  fn(env, `${Q}.asInteger(): int`, asInteger);
  fn(env, `${Q}.isInteger(): bool`, (q: Quantity) => q.asInt64() !== undefined);
  fn(env, `${Q}.add(${Q}): ${Q}`, (a: Quantity, b: Quantity) => a.add(b));
  fn(env, `${Q}.add(int): ${Q}`, (a: Quantity, b: bigint) => a.add(new Quantity(b, 0, true)));
  fn(env, `${Q}.sub(${Q}): ${Q}`, (a: Quantity, b: Quantity) => a.add(b.negate()));
  fn(env, `${Q}.sub(int): ${Q}`, (a: Quantity, b: bigint) => a.add(new Quantity(-b, 0, true)));
}
