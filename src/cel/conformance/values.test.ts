import { Environment } from '@marcbachmann/cel-js';
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { describe, expect, it } from 'vitest';
import type { ProtoValue } from './schema.js';
import {
  UnrepresentableError,
  describeExpected,
  describeValue,
  matchesExpected,
  toCelTypeName,
  toCelValue,
} from './values.js';

const env = new Environment({ unlistedVariablesAreDyn: true });
const run = (expr: string): unknown => env.evaluate(expr) as unknown;

describe('matchesExpected', () => {
  it('requires the CEL numeric type to match', () => {
    expect(matchesExpected({ kind: 'int', value: 1n }, run('1'))).toBe(true);
    expect(matchesExpected({ kind: 'uint', value: 1n }, run('1'))).toBe(false);
    expect(matchesExpected({ kind: 'uint', value: 1n }, run('1u'))).toBe(true);
    expect(matchesExpected({ kind: 'double', value: 1 }, run('1'))).toBe(false);
    expect(matchesExpected({ kind: 'double', value: NaN }, run('0.0/0.0'))).toBe(true);
  });

  it('compares lists in order and maps regardless of order', () => {
    const list: ProtoValue = {
      kind: 'list',
      values: [
        { kind: 'int', value: 1n },
        { kind: 'int', value: 2n },
      ],
    };
    expect(matchesExpected(list, run('[1, 2]'))).toBe(true);
    expect(matchesExpected(list, run('[2, 1]'))).toBe(false);
    const map: ProtoValue = {
      kind: 'map',
      entries: [
        [
          { kind: 'string', value: 'a' },
          { kind: 'int', value: 1n },
        ],
        [
          { kind: 'string', value: 'b' },
          { kind: 'int', value: 2n },
        ],
      ],
    };
    expect(matchesExpected(map, run('{"b": 2, "a": 1}'))).toBe(true);
    expect(matchesExpected(map, run('{"a": 1}'))).toBe(false);
  });

  it('compares bytes and type values', () => {
    expect(matchesExpected({ kind: 'bytes', value: Uint8Array.from([1]) }, run('b"\\001"'))).toBe(
      true,
    );
    expect(matchesExpected({ kind: 'type', value: 'int' }, run('type(1)'))).toBe(true);
    expect(matchesExpected({ kind: 'type', value: 'uint' }, run('type(1)'))).toBe(false);
  });
});

describe('toCelValue', () => {
  it('converts to the engine representation', () => {
    expect(toCelValue({ kind: 'int', value: 3n })).toBe(3n);
    expect(toCelValue({ kind: 'uint', value: 3n })).toBeInstanceOf(UnsignedInt);
    expect(
      toCelValue({ kind: 'map', entries: [[{ kind: 'string', value: 'k' }, { kind: 'null' }]] }),
    ).toEqual({
      k: null,
    });
    expect(
      toCelValue({
        kind: 'map',
        entries: [
          [
            { kind: 'int', value: 1n },
            { kind: 'bool', value: true },
          ],
        ],
      }),
    ).toEqual(new Map([[1n, true]]));
  });

  it('refuses protobuf messages', () => {
    expect(() => toCelValue({ kind: 'object', typeUrl: 'x' })).toThrow(UnrepresentableError);
  });
});

describe('toCelTypeName', () => {
  it('renders declared types as cel-js type strings', () => {
    expect(
      toCelTypeName({
        kind: 'map',
        key: { kind: 'primitive', name: 'STRING' },
        value: { kind: 'list', elem: { kind: 'wellKnown', name: 'TIMESTAMP' } },
      }),
    ).toBe('map<string, list<google.protobuf.Timestamp>>');
    expect(
      toCelTypeName({
        kind: 'abstract',
        name: 'optional_type',
        params: [{ kind: 'primitive', name: 'INT64' }],
      }),
    ).toBe('optional<int>');
    expect(() => toCelTypeName({ kind: 'message', name: 'TestAllTypes' })).toThrow(
      UnrepresentableError,
    );
  });
});

describe('describe*', () => {
  it('renders actual and expected values in one notation', () => {
    expect(describeValue(run('[1u, 2u]'))).toBe('[1u, 2u]');
    expect(
      describeExpected({
        kind: 'list',
        values: [
          { kind: 'uint', value: 1n },
          { kind: 'double', value: 2 },
        ],
      }),
    ).toBe('[1u, 2.0]');
  });
});
