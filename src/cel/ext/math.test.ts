import { Environment } from '@marcbachmann/cel-js';
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { describe, expect, it } from 'vitest';
import { compareNumbers, registerMathExtension } from './math.js';

const env = new Environment({ homogeneousAggregateLiterals: false });
registerMathExtension(env);
const run = (expr: string): unknown => env.evaluate(expr) as unknown;

describe('math extension', () => {
  it('picks greatest/least across int, uint and double, keeping the winning value type', () => {
    expect(run('math.greatest(-7, 5)')).toBe(5n);
    expect(run('math.greatest(5.4, 10, 3u, -5.0, 9223372036854775807)')).toBe(9223372036854775807n);
    expect(run('math.least([5.4, 10u, 3u, 1u, 3.5])')).toEqual(new UnsignedInt(1n));
    expect(run('math.least(1.5, -1.797693e308)')).toBe(-1.797693e308);
    expect(() => run('math.greatest([])')).toThrow(/empty/);
    expect(() => run("math.greatest(1, 'a')")).toThrow(/non-numeric/);
  });

  it('rounds half away from zero and accepts only doubles', () => {
    expect(run('math.round(-1.5)')).toBe(-2);
    expect(run('math.round(1.5)')).toBe(2);
    expect(run('math.trunc(-1.2)')).toBe(-1);
    expect(() => run('math.ceil(dyn(1))')).toThrow();
  });

  it('computes abs and sign per type, with int overflow as an error', () => {
    expect(run('math.abs(-11)')).toBe(11n);
    expect(() => run('math.abs(-9223372036854775808)')).toThrow(/overflow/);
    expect(run('math.sign(-32.0)')).toBe(-1);
    expect(run('math.sign(0u)')).toEqual(new UnsignedInt(0n));
  });

  it('does 64-bit bit operations like Go: logical right shift, shifts >= 64 give 0', () => {
    expect(run('math.bitShiftRight(-1024, 3)')).toBe(2305843009213693824n);
    expect(run('math.bitShiftLeft(1, 200)')).toBe(0n);
    expect(run('math.bitNot(1u)')).toEqual(new UnsignedInt(18446744073709551614n));
    expect(run('math.bitXor(4, -2)')).toBe(-6n);
    expect(() => run('math.bitShiftLeft(1u, -1)')).toThrow(/negative/);
  });

  it('classifies doubles', () => {
    expect(run('math.isNaN(0.0/0.0) && math.isInf(1.0/0.0) && !math.isFinite(-1.0/0.0)')).toBe(
      true,
    );
  });
});

describe('compareNumbers', () => {
  it('compares ints and doubles exactly beyond 2^53', () => {
    expect(compareNumbers(9223372036854775807n, 9223372036854775808)).toBe(-1);
    expect(compareNumbers(2n, 1.5)).toBe(1);
    expect(compareNumbers(new UnsignedInt(3n), 3)).toBe(0);
  });
});
