import { EvaluationError, Optional, type Environment } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';

/**
 * Shared value helpers for the library handlers. cel-js hands handlers plain JS values (bigint
 * for int, number for double, Uint8Array for bytes, arrays, objects or Maps for maps); these
 * helpers give the CEL semantics (equality, ordering, code-point strings) that Go's runtime has
 * and JavaScript's operators do not.
 */

/** Library errors surface as evaluation errors so callers see one error class for runtime faults. */
export function celError(message: string): EvaluationError {
  return new EvaluationError(message);
}

/** Splits a string into code points, the unit CEL (like Go's runes) indexes strings by. */
export function codePoints(s: string): string[] {
  return Array.from(s);
}

/** Custom value classes with a textual form implement this for `%s` in `string.format`. */
export interface CelStringable {
  celString(): string;
}

export function isCelStringable(v: unknown): v is CelStringable {
  return (
    typeof v === 'object' && v !== null && 'celString' in v && typeof v.celString === 'function'
  );
}

/** Our custom value classes implement this so lists, sets and `==` can compare them. */
export interface CelComparable {
  celEquals(other: unknown): boolean;
}

function isCelComparable(v: unknown): v is CelComparable {
  return (
    typeof v === 'object' && v !== null && 'celEquals' in v && typeof v.celEquals === 'function'
  );
}

/** Every function we register is synchronous; telling cel-js so avoids its promise plumbing. */
export const SYNC = { async: false } as const;

/** Registers a synchronous function overload. */
export function fn(
  env: Environment,
  signature: string,
  handler: (...args: never[]) => unknown,
): void {
  env.registerFunction(signature, handler as (...args: unknown[]) => unknown, SYNC);
}

export function isMapValue(v: unknown): v is Record<string, unknown> | Map<unknown, unknown> {
  if (v instanceof Map) return true;
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

export function isListValue(v: unknown): v is unknown[] | Set<unknown> {
  return Array.isArray(v) || v instanceof Set;
}

export function toArray(v: unknown): unknown[] {
  if (Array.isArray(v)) return v as unknown[];
  if (v instanceof Set) return [...(v as Set<unknown>)];
  throw celError(`expected a list, got ${typeName(v)}`);
}

function mapEntries(v: Record<string, unknown> | Map<unknown, unknown>): [unknown, unknown][] {
  return v instanceof Map ? [...v.entries()] : Object.entries(v);
}

/** A short CEL-ish type name for error messages. */
export function typeName(v: unknown): string {
  if (v === null) return 'null_type';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'double';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof UnsignedInt) return 'uint';
  if (v instanceof Uint8Array) return 'bytes';
  if (isListValue(v)) return 'list';
  if (isMapValue(v)) return 'map';
  if (v instanceof Date) return 'google.protobuf.Timestamp';
  if (v instanceof Duration) return 'google.protobuf.Duration';
  if (typeof v === 'object') return v.constructor.name;
  return typeof v;
}

function numericValue(v: unknown): number | bigint | undefined {
  if (typeof v === 'bigint' || typeof v === 'number') return v;
  if (v instanceof UnsignedInt) return v.valueOf();
  return undefined;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** CEL equality (heterogeneous numeric equality, deep lists and maps), as cel-go's `Equal`. */
export function celEquals(a: unknown, b: unknown): boolean {
  if (a === b) return typeof a !== 'number' || !Number.isNaN(a);
  const na = numericValue(a);
  const nb = numericValue(b);
  if (na !== undefined && nb !== undefined) {
    if (typeof na === 'number' && Number.isNaN(na)) return false;
    if (typeof nb === 'number' && Number.isNaN(nb)) return false;
    return na == nb;
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (isCelComparable(a)) return a.celEquals(b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return bytesEqual(a, b);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Duration && b instanceof Duration) {
    return a.seconds === b.seconds && a.nanos === b.nanos;
  }
  if (isListValue(a) && isListValue(b)) {
    const la = toArray(a);
    const lb = toArray(b);
    return la.length === lb.length && la.every((x, i) => celEquals(x, lb[i]));
  }
  if (isMapValue(a) && isMapValue(b)) {
    const ea = mapEntries(a);
    const eb = mapEntries(b);
    if (ea.length !== eb.length) return false;
    return ea.every(([k, v]) => eb.some(([k2, v2]) => celEquals(k, k2) && celEquals(v, v2)));
  }
  return false;
}

/** Compares strings by code point, as Go compares UTF-8 bytes; JS `<` compares UTF-16 units. */
export function compareStrings(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done === true) return y.done === true ? 0 : -1;
    if (y.done === true) return 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function sign(n: number | bigint): number {
  return n > 0 ? 1 : n < 0 ? -1 : 0;
}

/**
 * CEL ordering for the comparable types (numbers across int/uint/double, bool, string, bytes,
 * timestamp, duration). Throws for values CEL cannot order, as cel-go reports no such overload.
 */
export function celCompare(a: unknown, b: unknown): number {
  const na = numericValue(a);
  const nb = numericValue(b);
  if (na !== undefined && nb !== undefined) {
    if (typeof na === 'bigint' && typeof nb === 'bigint') return sign(na - nb);
    return na < nb ? -1 : na > nb ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const d = (a[i] ?? 0) - (b[i] ?? 0);
      if (d !== 0) return sign(d);
    }
    return sign(a.length - b.length);
  }
  if (a instanceof Date && b instanceof Date) return sign(a.getTime() - b.getTime());
  if (a instanceof Duration && b instanceof Duration) {
    const d = a.seconds - b.seconds;
    return d !== 0n ? sign(d) : sign(a.nanos - b.nanos);
  }
  throw celError(`no such overload: cannot compare ${typeName(a)} with ${typeName(b)}`);
}

/** Converts a CEL int argument to a JS number, rejecting values beyond the safe range. */
export function toIndex(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw celError(`index out of range: ${v}`);
  }
  return Number(v);
}

export function optionalOf(v: unknown): Optional {
  return Optional.of(v);
}

export function optionalNone(): Optional<never> {
  return Optional.none();
}
