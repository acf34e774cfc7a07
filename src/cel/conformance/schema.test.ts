import { describe, expect, it } from 'vitest';
import { loadSimpleTestFile } from './schema.js';

const SOURCE = `
name: "demo"
section {
  name: "s"
  test {
    name: "value"
    expr: "x + 1u"
    disable_check: true
    type_env { name: "x" ident { type { primitive: UINT64 } } }
    type_env { name: "m" ident { type { map_type { key_type { primitive: STRING } value_type { dyn {} } } } } }
    bindings { key: "x" value { value { uint64_value: 18446744073709551615 } } }
    value: { map_value { entries { key { int64_value: -1 } value { list_value { values { double_value: inf } values { bytes_value: "\\001" } } } } } }
  }
  test { name: "err" expr: "1/0" eval_error { errors { message: "divide by zero" } } }
  test { name: "any" expr: "x" any_eval_errors { errors { errors { message: "a" } } } }
  test { name: "implicit" expr: "true" }
  test { name: "obj" expr: "x" value { object_value { [type.googleapis.com/google.protobuf.Int32Value] { value: 1 } } } }
}`;

describe('loadSimpleTestFile', () => {
  const file = loadSimpleTestFile(SOURCE);
  const tests = file.sections[0]!.tests;

  it('decodes names, flags, declarations and bindings', () => {
    expect(file.name).toBe('demo');
    const t = tests[0]!;
    expect(t).toMatchObject({
      name: 'value',
      expr: 'x + 1u',
      disableCheck: true,
      checkOnly: false,
    });
    expect(t.typeEnv).toEqual([
      { kind: 'ident', name: 'x', type: { kind: 'primitive', name: 'UINT64' } },
      {
        kind: 'ident',
        name: 'm',
        type: { kind: 'map', key: { kind: 'primitive', name: 'STRING' }, value: { kind: 'dyn' } },
      },
    ]);
    expect(t.bindings.get('x')).toEqual({
      kind: 'value',
      value: { kind: 'uint', value: 18446744073709551615n },
    });
  });

  it('decodes nested expected values', () => {
    expect(tests[0]!.matcher).toEqual({
      kind: 'value',
      value: {
        kind: 'map',
        entries: [
          [
            { kind: 'int', value: -1n },
            {
              kind: 'list',
              values: [
                { kind: 'double', value: Infinity },
                { kind: 'bytes', value: Uint8Array.from([1]) },
              ],
            },
          ],
        ],
      },
    });
  });

  it('distinguishes the result matchers', () => {
    expect(tests.map((t) => t.matcher.kind)).toEqual([
      'value',
      'evalError',
      'anyEvalErrors',
      'none',
      'value',
    ]);
    expect(tests[4]!.matcher).toEqual({
      kind: 'value',
      value: { kind: 'object', typeUrl: 'type.googleapis.com/google.protobuf.Int32Value' },
    });
  });
});
