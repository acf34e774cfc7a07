import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { compareBytes, formatTimestamp, registerConversionFixes } from './conversions.js';

const env = new Environment();
registerConversionFixes(env);
const run = (expr: string): unknown => env.evaluate(expr) as unknown;

describe('conversion and ordering fixes', () => {
  it('converts uint to int with an overflow error', () => {
    expect(run('int(42u)')).toBe(42n);
    expect(() => run('int(18446744073709551615u)')).toThrow(/overflow/);
  });

  it('converts timestamps and durations like cel-go', () => {
    expect(run("int(timestamp('2009-02-13T23:31:30Z'))")).toBe(1234567890n);
    expect(run("string(timestamp('2009-02-13T23:31:30Z'))")).toBe('2009-02-13T23:31:30Z');
    expect(run("string(duration('1000000s'))")).toBe('1000000s');
    expect(
      run("timestamp(timestamp('2009-02-13T23:31:30Z')) == timestamp('2009-02-13T23:31:30Z')"),
    ).toBe(true);
    expect(formatTimestamp(new Date('2020-01-01T00:00:00.120Z'))).toBe('2020-01-01T00:00:00.12Z');
  });

  it('orders bytes lexicographically by unsigned byte', () => {
    expect(
      run("b'a' < b'b' && b'' < b'a' && b'\\xff' > b'a' && b'ab' >= b'a' && b'a' <= b'a'"),
    ).toBe(true);
    expect(compareBytes(Uint8Array.from([1, 2]), Uint8Array.from([1]))).toBeGreaterThan(0);
  });
});
