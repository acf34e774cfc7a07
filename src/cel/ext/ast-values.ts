import { EvaluationError } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import type { AstEvaluator, AstNode } from './ast-node.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** The timestamp range of CEL: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. */
const TIMESTAMP_MIN_MS = Date.parse('0001-01-01T00:00:00Z');
const TIMESTAMP_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');
export const TIMESTAMP = 'google.protobuf.Timestamp';
export const DURATION = 'google.protobuf.Duration';

export function fail(message: string): never {
  throw new EvaluationError(message);
}

/** Rejects results outside CEL's value ranges (int64, timestamps, cel-go's int64-ns durations). */
export function checkRange(v: unknown): unknown {
  if (typeof v === 'bigint') {
    if (v < INT64_MIN || v > INT64_MAX) fail('integer overflow');
  } else if (v instanceof Date) {
    const t = v.getTime();
    if (!(t >= TIMESTAMP_MIN_MS && t <= TIMESTAMP_MAX_MS)) fail('timestamp out of range');
  } else if (v instanceof Duration) {
    const ns = v.seconds * 1_000_000_000n + BigInt(v.nanos);
    if (ns < INT64_MIN || ns > INT64_MAX) fail('duration out of range');
  }
  return v;
}

type Num = bigint | number | UnsignedInt;

function isNum(v: unknown): v is Num {
  return typeof v === 'bigint' || typeof v === 'number' || v instanceof UnsignedInt;
}

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isCelMap(v: unknown): v is Map<unknown, unknown> | Record<string, unknown> {
  return v instanceof Map || isPlainMap(v);
}

function mapEntries(v: Map<unknown, unknown> | Record<string, unknown>): [unknown, unknown][] {
  return v instanceof Map ? [...v.entries()] : Object.entries(v);
}

function integerValue(v: bigint | UnsignedInt): bigint {
  return typeof v === 'bigint' ? v : v.value;
}

/**
 * cel-go's ordering of an integer against a double: doubles beyond the integer type's range
 * order outside it, otherwise the integer is converted to double (which may round, so
 * `9223372036854775807 < 9223372036854775808.0` is false). NaN is unordered.
 */
function compareIntegerDouble(i: bigint, d: number, unsigned: boolean): number {
  if (Number.isNaN(d)) return Number.NaN;
  const min = unsigned ? 0 : -(2 ** 63);
  const max = unsigned ? 2 ** 64 : 2 ** 63;
  if (d < min) return 1;
  if (d > max) return -1;
  const f = Number(i);
  return f < d ? -1 : f > d ? 1 : 0;
}

/** Compares numbers of different CEL types; undefined when both have the same type. */
export function compareMixedNumbers(a: Num, b: Num): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return undefined;
  if (typeof a === 'number') {
    const c = compareMixedNumbers(b, a);
    return c === undefined ? undefined : -c;
  }
  if (typeof b === 'number') return compareIntegerDouble(integerValue(a), b, typeof a !== 'bigint');
  if (typeof a === typeof b && (typeof a === 'bigint') === (typeof b === 'bigint'))
    return undefined;
  const x = integerValue(a);
  const y = integerValue(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * CEL equality: numbers compare by value across int, uint and double; lists element-wise;
 * maps by key set (keys also compared across numeric types) and values; every other value by
 * the registered `==` overload of its type, as cel-js does.
 */
export function celEqual(ev: AstEvaluator, node: AstNode, a: unknown, b: unknown): boolean {
  if (isNum(a) && isNum(b)) {
    const na = a instanceof UnsignedInt ? a.value : a;
    const nb = b instanceof UnsignedInt ? b.value : b;
    return na == nb;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => celEqual(ev, node, x, b[i]));
  }
  if (isCelMap(a) && isCelMap(b)) {
    const ea = mapEntries(a);
    const eb = mapEntries(b);
    return (
      ea.length === eb.length &&
      ea.every(([k, v]) =>
        eb.some(([k2, v2]) => celEqual(ev, node, k, k2) && celEqual(ev, node, v, v2)),
      )
    );
  }
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ta = ev.debugType(a);
  const tb = ev.debugType(b);
  if (ta !== tb) return false;
  const overload = ev.registry.findBinaryOverload('==', ta, tb);
  return overload ? overload.handler(a, b, node, ev) === true : false;
}

/**
 * The CEL semantics of a binary operator where cel-js deviates (numeric equality and ordering
 * across int, uint and double; deep equality of lists and maps; list membership); undefined
 * where cel-js's own handler is right.
 */
export function binaryOverride(
  op: string,
  l: unknown,
  r: unknown,
  node: AstNode,
  ev: AstEvaluator,
): { readonly value: unknown } | undefined {
  switch (op) {
    case '==':
    case '!=': {
      const deep =
        (isNum(l) && isNum(r)) ||
        (Array.isArray(l) && Array.isArray(r)) ||
        (isCelMap(l) && isCelMap(r));
      if (!deep) return undefined;
      const eq = celEqual(ev, node, l, r);
      return { value: op === '==' ? eq : !eq };
    }
    case 'in':
      return Array.isArray(r) ? { value: r.some((e) => celEqual(ev, node, l, e)) } : undefined;
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (!isNum(l) || !isNum(r)) return undefined;
      const c = compareMixedNumbers(l, r);
      if (c === undefined) return undefined;
      if (Number.isNaN(c)) return { value: false };
      const value = op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
      return { value };
    }
    default:
      return undefined;
  }
}
