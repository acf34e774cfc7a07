import { Optional } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';

/**
 * CEL value equality for handlers that must compare arbitrary values (optional equality):
 * numbers compare across int, uint and double by value, aggregates element-wise, maps
 * regardless of order. cel-js does not expose its own equality to registered functions.
 */

function numeric(v: unknown): bigint | number | undefined {
  if (typeof v === 'bigint' || typeof v === 'number') return v;
  if (v instanceof UnsignedInt) return v.value;
  return undefined;
}

function entries(v: unknown): [unknown, unknown][] | undefined {
  if (v instanceof Map) return [...(v as Map<unknown, unknown>).entries()];
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype)
    return Object.entries(v);
  return undefined;
}

export function celEquals(a: unknown, b: unknown): boolean {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== undefined || nb !== undefined) {
    if (na === undefined || nb === undefined) return false;
    // Mixed bigint/number `==` compares mathematical values exactly in JavaScript.
    return na == nb;
  }
  if (a === null || typeof a !== 'object' || b === null || typeof b !== 'object') return a === b;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return (
      a instanceof Uint8Array &&
      b instanceof Uint8Array &&
      a.length === b.length &&
      a.every((x, i) => x === b[i])
    );
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((x, i) => celEquals(x, b[i]))
    );
  }
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (a instanceof Duration || b instanceof Duration) {
    return (
      a instanceof Duration &&
      b instanceof Duration &&
      a.seconds === b.seconds &&
      a.nanos === b.nanos
    );
  }
  if (a instanceof Optional || b instanceof Optional) {
    if (!(a instanceof Optional && b instanceof Optional)) return false;
    if (!a.hasValue() || !b.hasValue()) return a.hasValue() === b.hasValue();
    return celEquals(a.value(), b.value());
  }
  const ea = entries(a);
  const eb = entries(b);
  if (ea && eb) {
    return (
      ea.length === eb.length &&
      ea.every(([k, v]) => eb.some(([k2, v2]) => celEquals(k, k2) && celEquals(v, v2)))
    );
  }
  return a === b;
}
