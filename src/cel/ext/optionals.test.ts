import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { celEquals } from './equality.js';
import { isZeroValue, registerOptionalFixes } from './optionals.js';

const env = new Environment({ enableOptionalTypes: true });
registerOptionalFixes(env);
const run = (expr: string): unknown => env.evaluate(expr) as unknown;

describe('optional fixes', () => {
  it('maps zero values to none', () => {
    expect(run('optional.ofNonZeroValue(0).hasValue()')).toBe(false);
    expect(run("optional.ofNonZeroValue('x').hasValue()")).toBe(true);
    expect(isZeroValue([])).toBe(true);
    expect(isZeroValue({ a: 1 })).toBe(false);
  });

  it('compares optionals by presence and value', () => {
    expect(run('optional.of(1) == optional.of(1)')).toBe(true);
    expect(run('optional.none() == optional.none()')).toBe(true);
    expect(run('optional.of(1) != optional.none()')).toBe(true);
  });

  it('maps and flat-maps present values and passes none through', () => {
    expect(run('optional.of(2).optMap(x, x * 2).value()')).toBe(4n);
    expect(run('optional.none().optMap(x, x * 2).hasValue()')).toBe(false);
    expect(run('optional.of(0).optFlatMap(x, optional.ofNonZeroValue(x)).hasValue()')).toBe(false);
  });
});

describe('celEquals', () => {
  it('compares numbers across types and aggregates structurally', () => {
    expect(celEquals(1n, 1)).toBe(true);
    expect(celEquals([1n, { a: 2 }], [1, { a: 2n }])).toBe(true);
    expect(celEquals('1', 1n)).toBe(false);
    expect(celEquals(new Map([[1n, 'x']]), new Map([[1, 'x']]))).toBe(true);
  });
});
