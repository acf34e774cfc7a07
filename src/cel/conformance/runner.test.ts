import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { runFileSource } from './runner.js';

const SOURCE = `
name: "demo"
section {
  name: "s"
  test { name: "pass_value" expr: "x + 1" type_env { name: "x" ident { type { primitive: INT64 } } } bindings { key: "x" value { value { int64_value: 41 } } } value { int64_value: 42 } }
  test { name: "undeclared_binding" expr: "y.size()" bindings { key: "y" value { value { list_value { values { bool_value: true } } } } } value { int64_value: 1 } }
  test { name: "wrong_type" expr: "1" value { uint64_value: 1 } }
  test { name: "implicit_true" expr: "1 < 2" }
  test { name: "eval_error" expr: "1 / 0" eval_error { errors { message: "divide by zero" } } }
  test { name: "syntax_error" expr: "1 +" eval_error { errors { message: "x" } } }
  test { name: "missing_error" expr: "1" any_eval_errors { errors { errors { message: "x" } } } }
  test { name: "proto" expr: "TestAllTypes{}" value { bool_value: true } }
  test { name: "unchecked" expr: "'horses' || true" disable_check: true value { bool_value: true } }
  test { name: "checked" expr: "'horses' || true" value { bool_value: true } }
}`;

describe('runFileSource', () => {
  const env = new Environment({ enableOptionalTypes: true });
  const byName = new Map(
    runFileSource(env, 'demo', SOURCE).outcomes.map((o) => [o.id.replace('s/', ''), o]),
  );

  it('passes matching values, declared or not', () => {
    expect(byName.get('pass_value')?.status).toBe('pass');
    expect(byName.get('undeclared_binding')?.status).toBe('pass');
    expect(byName.get('implicit_true')?.status).toBe('pass');
  });

  it('fails on a type mismatch with a readable reason', () => {
    expect(byName.get('wrong_type')).toEqual({
      id: 's/wrong_type',
      status: 'fail',
      detail: 'expected 1u, got 1',
    });
  });

  it('accepts any evaluation error but not a syntax error or a value', () => {
    expect(byName.get('eval_error')?.status).toBe('pass');
    expect(byName.get('syntax_error')?.status).toBe('fail');
    expect(byName.get('syntax_error')?.detail).toMatch(/^syntax error/);
    expect(byName.get('missing_error')?.detail).toBe('expected an error, got 1');
  });

  it('honours disable_check: type errors surface only where evaluated', () => {
    expect(byName.get('unchecked')?.status).toBe('pass');
    expect(byName.get('checked')?.status).toBe('fail');
  });

  it('excludes tests that need protobuf messages, with the reason', () => {
    expect(byName.get('proto')).toMatchObject({ status: 'excluded' });
    expect(byName.get('proto')?.detail).toMatch(/proto/);
  });
});
