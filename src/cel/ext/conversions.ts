import type { Environment } from '@marcbachmann/cel-js';
import type { Duration } from '@marcbachmann/cel-js/evaluator';
import type { UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { extError, registerSync } from './registry.js';

/**
 * Standard-library overloads cel-js 8 lacks (found by the cel-spec conformance suite): int(uint),
 * identity conversions of timestamps and durations, int/string of timestamps, string of
 * durations, and lexicographic ordering of bytes.
 */

const INT64_MAX = 2n ** 63n - 1n;
const TIMESTAMP = 'google.protobuf.Timestamp';
const DURATION = 'google.protobuf.Duration';

/** RFC 3339 as cel-go prints it: UTC, fractional seconds only when non-zero, trailing zeros dropped. */
export function formatTimestamp(t: Date): string {
  return t
    .toISOString()
    .replace(/\.(\d*?)0*Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

/** Bytes order as unsigned byte strings, shorter prefix first (Go's bytes.Compare). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function registerConversionFixes(env: Environment): void {
  registerSync(env, 'int(uint): int', (u: UnsignedInt) => {
    if (u.value > INT64_MAX) throw extError('int(uint): integer overflow');
    return u.value;
  });
  registerSync(env, `int(${TIMESTAMP}): int`, (t: Date) => BigInt(Math.floor(t.getTime() / 1000)));
  registerSync(env, `string(${TIMESTAMP}): string`, (t: Date) => formatTimestamp(t));
  registerSync(env, `string(${DURATION}): string`, (d: Duration) => d.toString());
  registerSync(env, `timestamp(${TIMESTAMP}): ${TIMESTAMP}`, (t: Date) => t);
  registerSync(env, `duration(${DURATION}): ${DURATION}`, (d: Duration) => d);

  const ops = {
    '<': (c: number) => c < 0,
    '<=': (c: number) => c <= 0,
    '>': (c: number) => c > 0,
    '>=': (c: number) => c >= 0,
  };
  for (const [op, test] of Object.entries(ops)) {
    env.registerOperator(`bytes ${op} bytes`, (a: Uint8Array, b: Uint8Array) =>
      test(compareBytes(a, b)),
    );
  }
}
