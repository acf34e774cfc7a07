import type { TSchema } from '@sinclair/typebox';
import { PalisadeError } from '../../shared/errors.js';

/**
 * TypeBox (JSON Schema) → Kubernetes *structural* OpenAPI v3 schema, the subset
 * apiextensions.k8s.io/v1 accepts: every node typed (or explicitly free-form), no `$ref`,
 * `anyOf` only for int-or-string, maps as `additionalProperties`. Converting instead of
 * writing the CRD by hand keeps the API server and the engine validating the same thing;
 * anything that cannot be expressed structurally throws, rather than being silently
 * weakened.
 */

/** One node of a CRD's `openAPIV3Schema` (JSONSchemaProps), keys in canonical order. */
export interface StructuralSchema {
  readonly [keyword: string]: unknown;
}

/** Keywords of JSONSchemaProps copied as they are; everything else is dropped. */
const COPIED = new Set([
  'description',
  'format',
  'default',
  'nullable',
  'minimum',
  'maximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
]);

/** TypeBox's key pattern for `Type.Record(Type.String(), …)`. */
const ANY_KEY = '^(.*)$';

type Node = Readonly<Record<string, unknown>>;

/**
 * Converts `schema`; `path` names the node in errors (`spec.policies`). Object properties
 * and keywords come out sorted, so the generated YAML is stable whatever the declaration
 * order in TypeScript.
 */
export function toStructural(schema: TSchema, path = '(root)'): StructuralSchema {
  const node = schema as Node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) if (COPIED.has(k)) out[k] = v;
  exclusiveBounds(node, out);
  if (node['uniqueItems'] === true) {
    fail(path, 'uniqueItems is not allowed in CRDs; use x-kubernetes-list-type: set');
  }
  if (Array.isArray(node['anyOf'])) union(node['anyOf'] as Node[], out, path);
  else if (node['const'] !== undefined) literal(node, out, path);
  else if (node['type'] === undefined) free(out);
  else typed(node, out, path);
  return sortKeys(out);
}

function typed(node: Node, out: Record<string, unknown>, path: string): void {
  const type = node['type'];
  if (
    typeof type !== 'string' ||
    !['object', 'array', 'string', 'integer', 'number', 'boolean'].includes(type)
  ) {
    fail(path, `type ${JSON.stringify(type)} has no structural equivalent`);
  }
  out['type'] = type;
  if (type === 'array') {
    if (node['items'] === undefined) fail(path, 'an array needs items');
    out['items'] = toStructural(node['items'] as TSchema, `${path}[]`);
  }
  if (type === 'object') object(node, out, path);
}

function object(node: Node, out: Record<string, unknown>, path: string): void {
  const properties = (node['properties'] ?? {}) as Record<string, TSchema>;
  const names = Object.keys(properties).sort();
  if (names.length > 0) {
    out['properties'] = Object.fromEntries(
      names.map((n) => [n, toStructural(properties[n] as TSchema, `${path}.${n}`)]),
    );
  }
  const required = (node['required'] ?? []) as string[];
  if (required.length > 0) out['required'] = [...required].sort();
  const patterns = node['patternProperties'] as Record<string, TSchema> | undefined;
  if (patterns !== undefined) {
    const keys = Object.keys(patterns);
    if (names.length > 0 || keys.length !== 1 || keys[0] !== ANY_KEY) {
      fail(path, 'only maps with any string key (Type.Record(Type.String(), …)) are structural');
    }
    out['additionalProperties'] = toStructural(patterns[ANY_KEY] as TSchema, `${path}[*]`);
  } else if (typeof node['additionalProperties'] === 'object') {
    if (names.length > 0) fail(path, 'properties and additionalProperties exclude each other');
    out['additionalProperties'] = toStructural(
      node['additionalProperties'] as TSchema,
      `${path}[*]`,
    );
  }
  // `additionalProperties: false` needs no translation: the API server prunes unknown fields.
}

/** Unions of literals become enums; integer|string becomes int-or-string; nothing else. */
function union(members: readonly Node[], out: Record<string, unknown>, path: string): void {
  const consts = members.map((m) => m['const']);
  const types = new Set(
    members.map((m) => (m['const'] === undefined ? m['type'] : typeof m['const'])),
  );
  if (consts.every((c) => c !== undefined) && types.size === 1) {
    out['type'] = [...types][0];
    out['enum'] = consts;
    return;
  }
  const [a, b] = members;
  if (members.length === 2 && a?.['type'] === 'integer' && b?.['type'] === 'string') {
    // The string side's constraints (a quantity's pattern) hold for the whole field.
    for (const [k, v] of Object.entries(b)) if (COPIED.has(k) && !(k in out)) out[k] = v;
    out['anyOf'] = [{ type: 'integer' }, { type: 'string' }];
    out['x-kubernetes-int-or-string'] = true;
    return;
  }
  fail(path, 'only unions of literals of one type, or of integer and string, are structural');
}

function literal(node: Node, out: Record<string, unknown>, path: string): void {
  const value = node['const'];
  if (!['string', 'number', 'boolean'].includes(typeof value)) {
    fail(path, 'only string, number and boolean literals are structural');
  }
  out['type'] =
    typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
  out['enum'] = [value];
}

/** `Type.Unknown()` / `Type.Any()`: any JSON value, kept as written. */
function free(out: Record<string, unknown>): void {
  out['x-kubernetes-preserve-unknown-fields'] = true;
  out['nullable'] = true;
}

/** JSON Schema 2019's numeric exclusive bounds are OpenAPI 3.0's booleans. */
function exclusiveBounds(node: Node, out: Record<string, unknown>): void {
  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    const v = node[exclusive];
    if (typeof v === 'number') {
      out[bound] = v;
      out[exclusive] = true;
    } else if (v === true) out[exclusive] = true;
  }
}

function sortKeys(out: Record<string, unknown>): StructuralSchema {
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, out[k]]),
  );
}

function fail(path: string, message: string): never {
  throw new PalisadeError('internal_error', `CRD schema at ${path}: ${message}`);
}
