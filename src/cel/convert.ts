import type { JsonValue } from '../shared/admission.js';

/**
 * CEL value of a JSON document: integral numbers become `int` (BigInt), as Kubernetes
 * decodes integers, so `object.spec.replicas + 1` is int arithmetic rather than a type
 * error between double and int. Everything else maps one to one.
 */
export function toCel(value: JsonValue | undefined): unknown {
  if (value === undefined || value === null) return null;
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? BigInt(value) : value;
    case 'string':
    case 'boolean':
      return value;
    default:
      break;
  }
  if (Array.isArray(value)) return value.map(toCel);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = toCel(value[key]);
  return out;
}

/** JSON value of a CEL result, for messages and for results returned to the engine. */
export function fromCel(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'bigint':
      return Number(value);
    case 'number':
    case 'string':
    case 'boolean':
      return value;
    default:
      break;
  }
  if (Array.isArray(value)) return value.map(fromCel);
  if (value instanceof Map) {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of value) out[String(k)] = fromCel(v);
    return out;
  }
  if (typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromCel(v);
    return out;
  }
  return null;
}
