import { isJsonObject, type JsonObject, type JsonValue } from '../../shared/admission.js';

/**
 * A tiny description of the serde structs behind Kubewarden's host-call payloads. One table
 * drives payload parsing (with serde's missing-field and wrong-type wording), normalisation
 * (absent optionals become `null`, sets are sorted, maps are key-sorted, exactly what serde
 * would re-serialise) and the field order of recorded sessions, so the three never drift.
 */
export type FieldType =
  | 'string'
  | 'bool'
  | 'bytes'
  | { readonly list: FieldType }
  | { readonly set: 'string' }
  | { readonly map: 'string' }
  | { readonly struct: Fields }
  | { readonly oneOf: readonly string[] }
  | { readonly optional: FieldType }
  /** Kubewarden's `optional_string_as_none`: `""` reads as absent. */
  | 'nonEmptyStringOrNull';

export type Fields = readonly (readonly [name: string, type: FieldType])[];

/** A payload that does not fit its struct; `message` reads like serde's. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}

function describe(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'boolean') return `boolean \`${String(value)}\``;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
  }
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return Array.isArray(value) ? 'sequence' : 'map';
}

function at(path: string): string {
  return path === '' ? '' : ` at ${path}`;
}

function invalid(value: JsonValue | undefined, expected: string, path: string): PayloadError {
  return new PayloadError(`invalid type: ${describe(value)}, expected ${expected}${at(path)}`);
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function expectArray(value: JsonValue, expected: string, path: string): JsonValue[] {
  if (!Array.isArray(value)) throw invalid(value, expected, path);
  return value;
}

function readString(value: JsonValue, path: string): string {
  if (typeof value !== 'string') throw invalid(value, 'a string', path);
  return value;
}

function readComposite(
  type: Exclude<FieldType, string>,
  value: JsonValue,
  path: string,
): JsonValue {
  if ('optional' in type) return readValue(type.optional, value, path);
  if ('list' in type) {
    return expectArray(value, 'a sequence', path).map((v, i) =>
      readValue(type.list, v, `${path}[${i}]`),
    );
  }
  if ('set' in type) {
    const items = expectArray(value, 'a sequence', path).map((v, i) =>
      readString(v, `${path}[${i}]`),
    );
    return [...new Set(items)].sort();
  }
  if ('map' in type) {
    if (!isJsonObject(value)) throw invalid(value, 'a map', path);
    const entries = Object.keys(value)
      .sort()
      .map((k): [string, JsonValue] => [k, readString(value[k] ?? null, join(path, k))]);
    return Object.fromEntries(entries);
  }
  if ('oneOf' in type) {
    const s = readString(value, path);
    if (!type.oneOf.includes(s)) {
      const expected = type.oneOf.map((v) => `\`${v}\``).join(' or ');
      throw new PayloadError(`unknown variant \`${s}\`, expected ${expected}${at(path)}`);
    }
    return s;
  }
  if (!isJsonObject(value)) throw invalid(value, 'a struct', path);
  return readFields(type.struct, value, path);
}

/** Reads `value` as `type`; throws a {@link PayloadError} naming the offending path. */
export function readValue(type: FieldType, value: JsonValue, path: string): JsonValue {
  if (value === null && typeof type === 'object' && 'optional' in type) return null;
  switch (type) {
    case 'string':
      return readString(value, path);
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(value, 'a boolean', path);
      return value;
    case 'bytes':
      return expectArray(value, 'a sequence', path).map((v, i) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
          throw invalid(v, 'u8', `${path}[${i}]`);
        }
        return v;
      });
    case 'nonEmptyStringOrNull':
      if (value === null || value === '') return null;
      return readString(value, path);
    default:
      return readComposite(type, value, path);
  }
}

function isOptional(type: FieldType): boolean {
  return type === 'nonEmptyStringOrNull' || (typeof type === 'object' && 'optional' in type);
}

/** Reads a struct: every field in declaration order; unknown keys are ignored, as serde does. */
export function readFields(fields: Fields, object: JsonObject, path: string): JsonObject {
  const out: JsonObject = {};
  for (const [name, type] of fields) {
    const value = object[name];
    if (value === undefined) {
      if (!isOptional(type)) throw new PayloadError(`missing field \`${name}\`${at(path)}`);
      out[name] = null;
    } else {
      out[name] = readValue(type, value, join(path, name));
    }
  }
  return out;
}

/** JSON text with object keys in a stable order, so equal structures compare equal. */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isJsonObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] ?? null)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
