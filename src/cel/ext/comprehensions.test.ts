import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { registerTwoVarComprehensions } from './comprehensions.js';

const env = new Environment({ homogeneousAggregateLiterals: false });
registerTwoVarComprehensions(env);
const run = (expr: string): unknown => env.evaluate(expr) as unknown;

describe('two-variable comprehensions', () => {
  it('binds index and value over lists, key and value over maps', () => {
    expect(run('[1, 2, 3].exists(i, v, i == 1 && v == 2)')).toBe(true);
    expect(run("{'key1': 1, 'key2': 2}.all(k, v, k == 'key2' && v == 2)")).toBe(false);
    expect(run('[5, 7, 8].existsOne(i, v, v % 5 == i)')).toBe(true);
  });

  it('absorbs an error in all/exists when another element decides', () => {
    expect(run("[1, 'foo', 3].all(i, v, i == 0 || v == 1)")).toBe(false);
    expect(() => run('[1, 2, 3].all(i, v, v / i != 17)')).toThrow(/division by zero|divide/i);
  });

  it('transforms lists and maps, with an optional filter', () => {
    expect(run('[2, 4, 6].transformList(i, v, i != 1 && v != 4, v / 2 + i)')).toEqual([1n, 5n]);
    expect(run("{'foo': 'bar'}.transformMap(k, v, k + v)")).toEqual({ foo: 'foobar' });
    expect(run('[1, 2].transformMap(i, v, v * 10)')).toEqual(
      new Map([
        [0n, 10n],
        [1n, 20n],
      ]),
    );
    expect(run('[1, 2].transformMapEntry(i, v, {string(v): i})')).toEqual({ '1': 0n, '2': 1n });
    expect(() => run("[1, 2].transformMapEntry(i, v, {'k': v})")).toThrow(/duplicate/);
  });

  it('rejects a non-identifier variable at parse time', () => {
    expect(() => run('[1].all(1, v, true)')).toThrow(/identifier/);
  });
});
