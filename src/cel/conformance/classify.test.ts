import { describe, expect, it } from 'vitest';
import { exclusionReason } from './classify.js';
import type { SimpleTest } from './schema.js';

function test(overrides: Partial<SimpleTest>): SimpleTest {
  return {
    name: 't',
    expr: '1 == 1',
    disableMacros: false,
    disableCheck: false,
    checkOnly: false,
    container: '',
    typeEnv: [],
    bindings: new Map(),
    matcher: { kind: 'none' },
    ...overrides,
  };
}

describe('exclusionReason', () => {
  it('keeps plain CEL tests, including timestamp and duration type names', () => {
    expect(exclusionReason('basic', test({}))).toBeUndefined();
    expect(
      exclusionReason(
        'timestamps',
        test({ expr: "google.protobuf.Duration == type(duration('1s'))" }),
      ),
    ).toBeUndefined();
    expect(
      exclusionReason('string', test({ expr: "'TestAllTypes{}'.size() > 0" })),
    ).toBeUndefined();
  });

  it('excludes protobuf message literals and conformance types', () => {
    expect(exclusionReason('x', test({ expr: 'TestAllTypes{}.single_int32' }))).toMatch(
      /conformance proto/,
    );
    expect(exclusionReason('x', test({ expr: 'google.protobuf.Int32Value{value: 1}' }))).toMatch(
      /google.protobuf/,
    );
    expect(exclusionReason('x', test({ expr: 'Int32Value{value: 1} == 1' }))).toMatch(
      /google.protobuf/,
    );
  });

  it('excludes message declarations, bindings and results', () => {
    expect(
      exclusionReason(
        'x',
        test({ typeEnv: [{ kind: 'ident', name: 'm', type: { kind: 'message', name: 'M' } }] }),
      ),
    ).toMatch(/declares protobuf message/);
    expect(
      exclusionReason(
        'x',
        test({
          bindings: new Map([['m', { kind: 'value', value: { kind: 'object', typeUrl: 'u' } }]]),
        }),
      ),
    ).toMatch(/binding/);
    expect(
      exclusionReason(
        'x',
        test({ matcher: { kind: 'value', value: { kind: 'enum', type: 'E', value: 1 } } }),
      ),
    ).toMatch(/enum/);
  });

  it('excludes checker deduction tests', () => {
    expect(exclusionReason('type_deduction', test({}))).toMatch(/type-checker/);
    expect(exclusionReason('x', test({ checkOnly: true }))).toMatch(/type-checker/);
  });
});
