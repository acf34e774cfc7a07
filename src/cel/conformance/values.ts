import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import type { ProtoType, ProtoValue } from './schema.js';

/**
 * Conversion between the conformance data's `cel.expr.Value` and the runtime representation
 * of `@marcbachmann/cel-js` (int → bigint, uint → UnsignedInt, double → number, bytes →
 * Uint8Array, list → Array, map → object or Map, type → the library's Type object).
 */

/** Thrown when a value or type has no representation in this engine (e.g. a protobuf message). */
export class UnrepresentableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrepresentableError';
  }
}

/** Converts a binding value into what the engine expects in its activation. */
export function toCelValue(v: ProtoValue): unknown {
  switch (v.kind) {
    case 'null':
      return null;
    case 'bool':
    case 'double':
    case 'string':
    case 'int':
    case 'bytes':
      return v.value;
    case 'uint':
      return new UnsignedInt(v.value);
    case 'list':
      return v.values.map(toCelValue);
    case 'map': {
      // String-keyed maps are plain objects, as JSON input is; other key types need a Map.
      if (v.entries.every(([k]) => k.kind === 'string')) {
        const obj: Record<string, unknown> = {};
        for (const [k, val] of v.entries) if (k.kind === 'string') obj[k.value] = toCelValue(val);
        return obj;
      }
      return new Map(v.entries.map(([k, val]) => [toCelValue(k), toCelValue(val)]));
    }
    case 'type':
    case 'enum':
    case 'object':
      throw new UnrepresentableError(`cannot bind a ${v.kind} value`);
  }
}

const PRIMITIVES: Readonly<Record<string, string>> = {
  BOOL: 'bool',
  INT64: 'int',
  UINT64: 'uint',
  DOUBLE: 'double',
  STRING: 'string',
  BYTES: 'bytes',
};

const WELL_KNOWN: Readonly<Record<string, string>> = {
  TIMESTAMP: 'google.protobuf.Timestamp',
  DURATION: 'google.protobuf.Duration',
};

/** Renders a declared type as a cel-js type string, e.g. `map<string, list<int>>`. */
export function toCelTypeName(t: ProtoType): string {
  switch (t.kind) {
    case 'dyn':
    case 'typeParam':
      return 'dyn';
    case 'null':
      return 'null_type';
    case 'primitive': {
      const name = PRIMITIVES[t.name];
      if (name === undefined) throw new UnrepresentableError(`primitive ${t.name}`);
      return name;
    }
    case 'wellKnown': {
      const name = WELL_KNOWN[t.name];
      if (name === undefined) throw new UnrepresentableError(`well-known type ${t.name}`);
      return name;
    }
    case 'list':
      return `list<${toCelTypeName(t.elem)}>`;
    case 'map':
      return `map<${toCelTypeName(t.key)}, ${toCelTypeName(t.value)}>`;
    case 'type':
      return 'type';
    case 'abstract': {
      const [param] = t.params;
      if (t.name === 'optional_type' && param !== undefined) {
        return `optional<${toCelTypeName(param)}>`;
      }
      throw new UnrepresentableError(`abstract type ${t.name}`);
    }
    case 'wrapper':
    case 'message':
    case 'function':
    case 'error':
      throw new UnrepresentableError(`declared ${t.kind} type`);
  }
}

/** The name of a cel-js `Type` value (whose class is not exported), or undefined. */
export function celTypeValueName(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const m = /^\[object Type<(.+)>\]$/.exec(Object.prototype.toString.call(v));
  return m?.[1];
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function mapEntries(v: unknown): [unknown, unknown][] | undefined {
  if (v instanceof Map) return [...(v as Map<unknown, unknown>).entries()];
  if (isRecord(v)) return Object.entries(v);
  return undefined;
}

/** Type names a conformance file may use that this engine spells differently. */
const TYPE_ALIASES: Readonly<Record<string, string>> = {
  'list<dyn>': 'list',
  'map<dyn, dyn>': 'map',
};

/**
 * Strict CEL equality of an engine result against the expected value: the CEL type must
 * match (int ≠ uint ≠ double), NaN equals NaN so NaN-producing tests can be expressed, and map
 * entries match regardless of order.
 */
export function matchesExpected(expected: ProtoValue, actual: unknown): boolean {
  switch (expected.kind) {
    case 'null':
      return actual === null;
    case 'bool':
    case 'string':
    case 'int':
      return actual === expected.value;
    case 'uint':
      return actual instanceof UnsignedInt && actual.value === expected.value;
    case 'double':
      return (
        typeof actual === 'number' &&
        (actual === expected.value || (Number.isNaN(actual) && Number.isNaN(expected.value)))
      );
    case 'bytes':
      return actual instanceof Uint8Array && bytesEqual(expected.value, actual);
    case 'list':
      return (
        Array.isArray(actual) &&
        actual.length === expected.values.length &&
        expected.values.every((e, i) => matchesExpected(e, (actual as unknown[])[i]))
      );
    case 'map': {
      const entries = mapEntries(actual);
      if (entries?.length !== expected.entries.length) return false;
      return expected.entries.every(([k, v]) =>
        entries.some(([ak, av]) => matchesExpected(k, ak) && matchesExpected(v, av)),
      );
    }
    case 'type': {
      const name = celTypeValueName(actual);
      return (
        name !== undefined && (name === expected.value || TYPE_ALIASES[name] === expected.value)
      );
    }
    case 'enum':
    case 'object':
      return false;
  }
}

/** A short, stable rendering of an engine value for failure messages. */
export function describeValue(v: unknown): string {
  if (typeof v === 'bigint') return `${v}`;
  if (v instanceof UnsignedInt) return `${v.value}u`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `b[${[...v].join(',')}]`;
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  const typeName = celTypeValueName(v);
  if (typeName !== undefined) return `type(${typeName})`;
  const entries = mapEntries(v);
  if (entries)
    return `{${entries.map(([k, e]) => `${describeValue(k)}: ${describeValue(e)}`).join(', ')}}`;
  if (v instanceof Date) return `timestamp(${v.toISOString()})`;
  return String(v);
}

/** Renders an expected value in the same notation as {@link describeValue}. */
export function describeExpected(v: ProtoValue): string {
  switch (v.kind) {
    case 'null':
      return 'null';
    case 'uint':
      return `${v.value}u`;
    case 'bool':
    case 'int':
      return `${v.value}`;
    case 'double':
      return Number.isInteger(v.value) ? `${v.value}.0` : `${v.value}`;
    case 'string':
      return JSON.stringify(v.value);
    case 'bytes':
      return `b[${[...v.value].join(',')}]`;
    case 'list':
      return `[${v.values.map(describeExpected).join(', ')}]`;
    case 'map':
      return `{${v.entries.map(([k, e]) => `${describeExpected(k)}: ${describeExpected(e)}`).join(', ')}}`;
    case 'type':
      return `type(${v.value})`;
    case 'enum':
      return `${v.type}(${v.value})`;
    case 'object':
      return `object(${v.typeUrl})`;
  }
}
