import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { thrown } from '../../../test/support/errors.js';
import { CRD_DEFINITIONS } from './definitions.js';
import { crdSchema } from './render.js';
import { toStructural, type StructuralSchema } from './structural.js';

describe('toStructural', () => {
  it('turns unions of literals into enums, keeping description, default and CEL rules', () => {
    const rule = { rule: 'self == oldSelf' };
    const mode = Type.Union([Type.Literal('protect'), Type.Literal('monitor')], {
      $id: 'Mode',
      title: 'Mode',
      default: 'protect',
      description: 'how',
      'x-kubernetes-validations': [rule],
    });
    expect(toStructural(mode)).toEqual({
      default: 'protect',
      description: 'how',
      enum: ['protect', 'monitor'],
      type: 'string',
      'x-kubernetes-validations': [rule],
    });
  });

  it('makes Type.Unknown free-form and nullable', () => {
    expect(toStructural(Type.Unknown({ description: 'settings' }))).toEqual({
      description: 'settings',
      nullable: true,
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('turns records into additionalProperties and sorts properties and required', () => {
    const schema = Type.Object({
      zeta: Type.Record(Type.String(), Type.Integer(), { maxProperties: 3 }),
      alpha: Type.String(),
      mid: Type.Optional(Type.Boolean()),
    });
    const out = toStructural(schema);
    expect(Object.keys(out['properties'] as object)).toEqual(['alpha', 'mid', 'zeta']);
    expect(out['required']).toEqual(['alpha', 'zeta']);
    expect((out['properties'] as Record<string, unknown>)['zeta']).toEqual({
      additionalProperties: { type: 'integer' },
      maxProperties: 3,
      type: 'object',
    });
  });

  it('makes integer|string int-or-string, hoisting the string constraints', () => {
    const out = toStructural(Type.Union([Type.Integer(), Type.String({ pattern: '^\\d+%?$' })]));
    expect(out).toEqual({
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      pattern: '^\\d+%?$',
      'x-kubernetes-int-or-string': true,
    });
  });

  it('translates numeric exclusive bounds to OpenAPI 3.0 booleans', () => {
    expect(toStructural(Type.Integer({ exclusiveMinimum: 0 }))).toEqual({
      exclusiveMinimum: true,
      minimum: 0,
      type: 'integer',
    });
  });

  it('refuses what has no structural form instead of weakening it', () => {
    const cases = [
      [Type.Union([Type.String(), Type.Boolean()]), 'only unions of literals'],
      [Type.Record(Type.String({ pattern: '^a' }), Type.String()), 'only maps with any string key'],
      [Type.Array(Type.String(), { uniqueItems: true }), 'uniqueItems is not allowed'],
      [Type.Null(), 'has no structural equivalent'],
    ] as const;
    for (const [schema, message] of cases) {
      expect(thrown(() => toStructural(schema, 'spec.x'), 'internal_error').message).toContain(
        message,
      );
    }
  });
});

/** Every node typed or explicitly free-form, and only keywords the API server knows. */
function structuralProblems(node: StructuralSchema, path: string): string[] {
  const problems: string[] = [];
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  if (node['type'] === undefined && !intOrString && !node['x-kubernetes-preserve-unknown-fields']) {
    problems.push(`${path}: untyped`);
  }
  if (node['anyOf'] !== undefined && !intOrString) problems.push(`${path}: anyOf`);
  for (const k of ['$id', '$ref', 'allOf', 'oneOf', 'const', 'patternProperties', 'title']) {
    if (k in node) problems.push(`${path}: ${k}`);
  }
  const children: [string, StructuralSchema][] = [];
  for (const [name, child] of Object.entries(node['properties'] ?? {})) {
    children.push([`${path}.${name}`, child as StructuralSchema]);
  }
  if (node['items'] !== undefined) children.push([`${path}[]`, node['items'] as StructuralSchema]);
  if (typeof node['additionalProperties'] === 'object') {
    children.push([`${path}[*]`, node['additionalProperties'] as StructuralSchema]);
  }
  for (const [p, child] of children) problems.push(...structuralProblems(child, p));
  return problems;
}

describe('the CRD schemas', () => {
  it.each(CRD_DEFINITIONS.map((d) => [d.kind, d] as const))('%s is structural', (_, def) => {
    expect(structuralProblems(crdSchema(def), def.kind)).toEqual([]);
  });
});
