import type { Environment } from '@marcbachmann/cel-js';
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { describe, expect, it } from 'vitest';
import { createBaseEnvironment } from '../environment.js';
import {
  NULL_TYPE,
  compareMixedNumbers,
  decodeBytesLiteralBody,
  transformAst,
  type TransformOptions,
} from './ast.js';

const base = createBaseEnvironment().clone({ homogeneousAggregateLiterals: false });

function program(expr: string, options: TransformOptions = {}, env: Environment = base.clone()) {
  const p = env.parse(expr);
  transformAst(p.ast, options);
  return p;
}

const run = (expr: string, vars: object = {}, options: TransformOptions = {}): unknown =>
  program(expr, options)(vars) as unknown;

describe('transformAst: has()', () => {
  it('tests keys of any map-valued operand, including literals', () => {
    expect(run("has({'a': 1, 'b': 2}.a)")).toBe(true);
    expect(run("has({'a': 1}.c)")).toBe(false);
    expect(run('has({}.a)')).toBe(false);
    expect(run("has({'x': {'y': 'z'}}.x.y)")).toBe(true);
  });

  it('tests the value of an optional operand; optional.none() has no fields', () => {
    expect(run('has({}.?x.y)')).toBe(false);
    expect(run("has({'x': {'y': 'z'}}.?x.y)")).toBe(true);
    expect(run("has({'foo': optional.none()}.foo)")).toBe(true);
    expect(run("has({'foo': optional.none()}.foo.bar)")).toBe(false);
    expect(run("has(optional.of({'c': {'e': 1}}).c.missing)")).toBe(false);
  });

  it('keeps the argument rules: a field selection on a map, message or dyn value', () => {
    expect(() => run('has(a)', {})).toThrow(/invalid argument/);
    expect(() => run('has(1.a)')).toThrow(/cannot test a field/);
    const env = base.clone();
    env.registerVariable('m', 'map<string, int>');
    expect(program('has(m.k)', {}, env)({ m: { k: 1n } })).toBe(true);
    expect(() => run("has({'a': {}}.b.c)")).toThrow(/No such key/);
  });
});

describe('transformAst: numbers', () => {
  it('compares numbers across int, uint and double inside lists, maps and `in`', () => {
    expect(run('[1.0, 2.0, 3] == [1u, 2, 3u]')).toBe(true);
    expect(run('[1, 2u] != [1u, 2]')).toBe(false);
    expect(run('[1, 2u] != [1u, 3]')).toBe(true);
    expect(run('dyn(3u) in [5, 4, 3]')).toBe(true);
    expect(run('dyn(3.0) in [5u, 4u, 3u]')).toBe(true);
    expect(run('dyn(6) in [5u, 4u, 3u]')).toBe(false);
  });

  it('orders int and double as cel-go does, rounding the int to double', () => {
    expect(run('dyn(9223372036854775807) < 9223372036854775808.0')).toBe(false);
    expect(run('dyn(9223372036854775807) >= 9223372036854775808.0')).toBe(true);
    expect(run('dyn(9223372036854775808.0) <= 9223372036854775807')).toBe(true);
    expect(run('dyn(1) < 1.5')).toBe(true);
    expect(compareMixedNumbers(1n, Number.NaN)).toBeNaN();
    expect(compareMixedNumbers(new UnsignedInt(1n), -1)).toBe(1);
    expect(compareMixedNumbers(2n, 1.5)).toBe(1);
    expect(compareMixedNumbers(1n, 2n)).toBeUndefined();
  });

  it('reports int64 overflow of negation, division and double conversion', () => {
    expect(() => run('-(-9223372036854775808)')).toThrow(/overflow/);
    expect(() => run('(-9223372036854775808) / -1')).toThrow(/overflow/);
    expect(() => run('int(9223372036854775807.0)')).toThrow(/overflow/);
    expect(() => run('int(-9223372036854775808.0)')).toThrow(/overflow/);
    expect(() => run('int(1e99)')).toThrow(/overflow/);
    expect(run('int(-1.5)')).toBe(-1n);
    expect(run('-9223372036854775807 - 1')).toBe(-(2n ** 63n));
  });

  it('indexes lists with a uint', () => {
    expect(run('[7, 8, 9][dyn(1u)]')).toBe(8n);
  });
});

describe('transformAst: timestamps and durations', () => {
  it('rejects timestamps outside years 1 to 9999', () => {
    expect(() => run("timestamp('9999-12-31T23:59:59Z') + duration('1s')")).toThrow(/range/);
    expect(() => run("timestamp('0001-01-01T00:00:00Z') - duration('1s')")).toThrow(/range/);
    expect(run("timestamp('0001-01-01T00:00:00Z') + duration('1s')")).toEqual(
      new Date('0001-01-01T00:00:01Z'),
    );
  });

  it('rejects durations beyond int64 nanoseconds, as cel-go', () => {
    expect(() => run("duration('320000000000s')")).toThrow(/range/);
    expect(() => run("duration('9000000000s') + duration('9000000000s')")).toThrow(/range/);
    expect(() =>
      run("timestamp('9999-12-31T23:59:59Z') - timestamp('0001-01-01T00:00:00Z')"),
    ).toThrow(/range/);
  });

  it('types duration + timestamp as a timestamp', () => {
    const p = program("duration('120s') + timestamp('2009-02-13T23:01:00Z')");
    expect(p.check()).toMatchObject({ valid: true, type: 'google.protobuf.Timestamp' });
    expect(
      run(
        "duration('120s') + timestamp('2009-02-13T23:01:00Z') == timestamp('2009-02-13T23:03:00Z')",
      ),
    ).toBe(true);
  });
});

describe('transformAst: literals, strings and types', () => {
  it('encodes non-ASCII characters of bytes literals as UTF-8; escapes stay single bytes', () => {
    expect([...(run("b'ÿ'") as Uint8Array)]).toEqual([195, 191]);
    expect([...(run("b'\\xff'") as Uint8Array)]).toEqual([255]);
    expect(run("b'ÿ' == b'\\303\\277'")).toBe(true);
    expect([...decodeBytesLiteralBody('a\\n\\101é😀')]).toEqual([
      97, 10, 65, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80,
    ]);
  });

  it('rejects invalid UTF-8 in string(bytes)', () => {
    expect(() => run("string(b'\\000\\xff')")).toThrow(/UTF-8/);
    expect(run("string(b'\\303\\277')")).toBe('ÿ');
  });

  it('names the type of null null_type', () => {
    expect(run('type(null)')).toBe(NULL_TYPE);
    expect(run('null_type')).toBe(NULL_TYPE);
    expect(run('type(null) == null_type')).toBe(true);
    expect(run('type(1) == int')).toBe(true);
  });
});

describe('transformAst: empty literals', () => {
  it('binds the element type of empty literals to dyn in macros and selections', () => {
    expect(run('[].all(e, e > 0)')).toBe(true);
    expect(run('[].exists(e, e > 0)')).toBe(false);
    expect(run('{}.?key.optFlatMap(k, k.?subkey).hasValue()')).toBe(false);
    expect(run('optional.none().?field.hasValue()')).toBe(false);
    expect(run('optional.none()[?0].hasValue()')).toBe(false);
  });
});

describe('transformAst: unchecked mode (cel-spec disable_check)', () => {
  const unchecked = { unchecked: true } as const;
  const env = (): Environment => base.clone({ unlistedVariablesAreDyn: true });

  it('lets || and && absorb errors and non-bool operands the other side decides', () => {
    expect(program("'horses' || true", unchecked, env())({})).toBe(true);
    expect(program('false && 32', unchecked, env())({})).toBe(false);
    expect(program('f_unknown(17) || true', unchecked, env())({})).toBe(true);
    expect(program('a.as() || true', unchecked, env())({ a: 1n })).toBe(true);
    expect(() => {
      program('f_unknown(17) || false', unchecked, env())({});
    }).toThrow(/overload/);
  });

  it('dispatches on run-time values', () => {
    expect(program('1.0 == 1', unchecked, env())({})).toBe(true);
    expect(program('2u != 2', unchecked, env())({})).toBe(false);
    expect(program("['one'] == [2, 3]", unchecked, env())({})).toBe(false);
    expect(program("true ? 'cows' : 17", unchecked, env())({})).toBe('cows');
  });

  it('is off by default: the checker still rejects ill-typed expressions', () => {
    expect(program('1.0 == 1').check().valid).toBe(false);
    expect(program("'horses' || true").check().valid).toBe(false);
  });
});
