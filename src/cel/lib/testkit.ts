import type { Environment } from '@marcbachmann/cel-js';
import { createBaseEnvironment } from '../environment.js';

/**
 * Table-test support for the library tests. It lives outside the `*.test.ts` files so every
 * table shares one environment (building one is the slow part) with the variables the tables use.
 */

/** Expected outcome of a table row: a value, or an error whose message contains `error`. */
export type Expected = { readonly error: string } | { readonly value: unknown };

export type Row = readonly [expr: string, expected: unknown];

let shared: Environment | undefined;

/** The base environment plus `object`, a dyn variable standing in for admission input. */
export function testEnv(): Environment {
  if (shared === undefined) {
    shared = createBaseEnvironment().clone();
    shared.registerVariable('object', 'dyn');
  }
  return shared;
}

/** Marks a row as expecting an error containing `message`. */
export function err(message: string): { readonly error: string } {
  return { error: message };
}

function isErrorExpectation(v: unknown): v is { readonly error: string } {
  return typeof v === 'object' && v !== null && 'error' in v && typeof v.error === 'string';
}

export type Outcome =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'error'; readonly message: string };

/** Evaluates `expr`, capturing a thrown error as an outcome so tables can assert on either. */
export function run(expr: string, context?: Record<string, unknown>): Outcome {
  try {
    return { kind: 'value', value: testEnv().evaluate(expr, context) as unknown };
  } catch (e) {
    return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
  }
}

/** Splits a row's expectation into the error substring or the value it must equal. */
export function expectation(expected: unknown): Expected {
  return isErrorExpectation(expected) ? expected : { value: expected };
}

function show(v: unknown): string {
  const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) as
    string | undefined;
  return text ?? 'undefined';
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b) && !(isPlain(a) && isPlain(b))) {
    return false;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra);
  return ka.length === Object.keys(rb).length && ka.every((k) => deepEqual(ra[k], rb[k]));
}

function isPlain(v: object): boolean {
  const p: unknown = Object.getPrototypeOf(v);
  return p === null || p === Object.prototype;
}

/**
 * Runs one table row and describes any mismatch; `undefined` means the row passed. Values are
 * compared strictly (an int `1n` is not the double `1`), as CEL distinguishes them.
 */
export function checkRow(row: Row, context?: Record<string, unknown>): string | undefined {
  const [expr, expected] = row;
  const want = expectation(expected);
  const got = run(expr, context);
  if ('error' in want) {
    if (got.kind === 'value')
      return `${expr}: expected error '${want.error}', got ${show(got.value)}`;
    return got.message.includes(want.error)
      ? undefined
      : `${expr}: expected error '${want.error}', got '${got.message}'`;
  }
  if (got.kind === 'error')
    return `${expr}: expected ${show(want.value)}, got error '${got.message}'`;
  return deepEqual(got.value, want.value)
    ? undefined
    : `${expr}: expected ${show(want.value)}, got ${show(got.value)}`;
}
