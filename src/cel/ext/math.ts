import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import type { Environment } from '@marcbachmann/cel-js';
import { extError, registerNamespace, registerSync } from './registry.js';

/**
 * cel-go's math extension (`ext.Math`, version 2): `math.greatest/least` over mixed numeric
 * arguments, rounding, sign and classification of doubles, and 64-bit bitwise operations.
 * Semantics follow cel-go's ext/math.go, including its choices where Go differs from
 * JavaScript: round half away from zero, logical right shift of ints, shifts ≥ 64 give 0.
 */

type CelNumber = bigint | UnsignedInt | number;

/** cel-go accepts up to this many arguments in the variadic form (its parser bounds calls too). */
const MAX_VARIADIC = 32;

function isCelNumber(v: unknown): v is CelNumber {
  return typeof v === 'bigint' || typeof v === 'number' || v instanceof UnsignedInt;
}

/** Compares an exact integer with a double without losing precision beyond 2^53. */
function compareIntDouble(i: bigint, d: number): number {
  if (Number.isNaN(d)) return NaN;
  if (d === Infinity) return -1;
  if (d === -Infinity) return 1;
  const floor = BigInt(Math.floor(d));
  if (i < floor) return -1;
  if (i > floor) return 1;
  return Number.isInteger(d) ? 0 : -1;
}

/** Numeric ordering across int, uint and double, as CEL's cross-type comparisons define it. */
export function compareNumbers(a: CelNumber, b: CelNumber): number {
  const ai = typeof a === 'number' ? undefined : a.valueOf();
  const bi = typeof b === 'number' ? undefined : b.valueOf();
  if (ai !== undefined && bi !== undefined) return ai < bi ? -1 : ai > bi ? 1 : 0;
  if (ai !== undefined && typeof b === 'number') return compareIntDouble(ai, b);
  if (bi !== undefined && typeof a === 'number') return -compareIntDouble(bi, a);
  const x = a as number;
  const y = b as number;
  return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
}

function extreme(name: string, args: readonly unknown[], wantGreater: boolean): CelNumber {
  const values = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  if (values.length === 0) throw extError(`math.${name}(list) argument must not be empty`);
  let best: CelNumber | undefined;
  for (const v of values) {
    if (!isCelNumber(v))
      throw extError(`math.${name}: no such overload for a non-numeric argument`);
    if (best === undefined) {
      best = v;
      continue;
    }
    const c = compareNumbers(v, best);
    if (wantGreater ? c > 0 : c < 0) best = v;
  }
  if (best === undefined) throw extError(`math.${name}: no arguments`);
  return best;
}

const INT64_MIN = -(2n ** 63n);

function checkShift(shift: bigint): bigint {
  if (shift < 0n) throw extError(`math.bitShift: negative offset: ${shift}`);
  return shift;
}

function registerVariadic(env: Environment, ns: string, name: string, wantGreater: boolean): void {
  for (let arity = 1; arity <= MAX_VARIADIC; arity++) {
    const params = Array.from({ length: arity }, () => 'dyn').join(', ');
    registerSync(env, `${ns}.${name}(${params}): dyn`, (_ns: unknown, ...args: unknown[]) =>
      extreme(name, args, wantGreater),
    );
  }
}

function roundHalfAwayFromZero(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

export function registerMathExtension(env: Environment): void {
  const ns = registerNamespace(env, 'math');
  const def = (signature: string, handler: (...args: never[]) => unknown): void => {
    registerSync(env, `${ns}.${signature}`, handler);
  };

  registerVariadic(env, ns, 'greatest', true);
  registerVariadic(env, ns, 'least', false);

  def('ceil(double): double', (_: unknown, x: number) => Math.ceil(x));
  def('floor(double): double', (_: unknown, x: number) => Math.floor(x));
  def('round(double): double', (_: unknown, x: number) => roundHalfAwayFromZero(x));
  def('trunc(double): double', (_: unknown, x: number) => Math.trunc(x));

  def('abs(int): int', (_: unknown, x: bigint) => {
    if (x === INT64_MIN) throw extError('math.abs: integer overflow');
    return x < 0n ? -x : x;
  });
  def('abs(uint): uint', (_: unknown, x: UnsignedInt) => x);
  def('abs(double): double', (_: unknown, x: number) => Math.abs(x));

  def('sign(int): int', (_: unknown, x: bigint) => (x > 0n ? 1n : x < 0n ? -1n : 0n));
  def('sign(uint): uint', (_: unknown, x: UnsignedInt) => new UnsignedInt(x.value > 0n ? 1n : 0n));
  def('sign(double): double', (_: unknown, x: number) =>
    Number.isNaN(x) ? x : x > 0 ? 1 : x < 0 ? -1 : 0,
  );

  def('isNaN(double): bool', (_: unknown, x: number) => Number.isNaN(x));
  def('isInf(double): bool', (_: unknown, x: number) => x === Infinity || x === -Infinity);
  def('isFinite(double): bool', (_: unknown, x: number) => Number.isFinite(x));

  def('sqrt(double): double', (_: unknown, x: number) => Math.sqrt(x));
  def('sqrt(int): double', (_: unknown, x: bigint) => Math.sqrt(Number(x)));
  def('sqrt(uint): double', (_: unknown, x: UnsignedInt) => Math.sqrt(Number(x.value)));

  const int64 = (v: bigint): bigint => BigInt.asIntN(64, v);
  const uint64 = (v: bigint): UnsignedInt => new UnsignedInt(BigInt.asUintN(64, v));
  def('bitAnd(int, int): int', (_: unknown, a: bigint, b: bigint) => int64(a & b));
  def('bitAnd(uint, uint): uint', (_: unknown, a: UnsignedInt, b: UnsignedInt) =>
    uint64(a.value & b.value),
  );
  def('bitOr(int, int): int', (_: unknown, a: bigint, b: bigint) => int64(a | b));
  def('bitOr(uint, uint): uint', (_: unknown, a: UnsignedInt, b: UnsignedInt) =>
    uint64(a.value | b.value),
  );
  def('bitXor(int, int): int', (_: unknown, a: bigint, b: bigint) => int64(a ^ b));
  def('bitXor(uint, uint): uint', (_: unknown, a: UnsignedInt, b: UnsignedInt) =>
    uint64(a.value ^ b.value),
  );
  def('bitNot(int): int', (_: unknown, a: bigint) => int64(~a));
  def('bitNot(uint): uint', (_: unknown, a: UnsignedInt) => uint64(~a.value));

  def('bitShiftLeft(int, int): int', (_: unknown, a: bigint, s: bigint) =>
    checkShift(s) >= 64n ? 0n : int64(a << s),
  );
  def('bitShiftLeft(uint, int): uint', (_: unknown, a: UnsignedInt, s: bigint) =>
    uint64(checkShift(s) >= 64n ? 0n : a.value << s),
  );
  // Go shifts the int's two's-complement bits as unsigned: a logical, not arithmetic, shift.
  def('bitShiftRight(int, int): int', (_: unknown, a: bigint, s: bigint) =>
    checkShift(s) >= 64n ? 0n : int64(BigInt.asUintN(64, a) >> s),
  );
  def('bitShiftRight(uint, int): uint', (_: unknown, a: UnsignedInt, s: bigint) =>
    uint64(checkShift(s) >= 64n ? 0n : a.value >> s),
  );
}
