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

/**
 * Like `toCel`, but converts on access: objects and lists become read-only views whose
 * members are converted the first time an expression reads them, then remembered. A policy
 * reading `object.spec.replicas` converts two maps and one number instead of copying a 4 KB
 * object with a BigInt per integer (measured: that copy's garbage was 17% of the server's
 * CPU under load).
 */
export function toCelLazy(value: JsonValue | undefined): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') return toCel(value);
  return Array.isArray(value) ? new Proxy(value, new ListView()) : new Proxy(value, new MapView());
}

/**
 * One handler per view, holding that view's converted members. (A process-wide WeakMap
 * keyed by the JSON objects did the same with less allocation, but ephemeron tables made
 * every garbage collection of request objects slower: ~20 µs of CPU per request under load.)
 */
abstract class View<T extends object> implements ProxyHandler<T> {
  #memo: Map<string, unknown> | undefined;

  protected member(key: string, member: JsonValue | undefined): unknown {
    if (typeof member === 'number') return Number.isInteger(member) ? BigInt(member) : member;
    if (member === null || typeof member !== 'object') return member;
    this.#memo ??= new Map();
    let view = this.#memo.get(key);
    if (view === undefined) {
      view = toCelLazy(member);
      this.#memo.set(key, view);
    }
    return view;
  }

  set(): boolean {
    return false;
  }

  deleteProperty(): boolean {
    return false;
  }

  defineProperty(): boolean {
    return false;
  }
}

class MapView extends View<{ [key: string]: JsonValue }> {
  get(target: { [key: string]: JsonValue }, key: string | symbol): unknown {
    if (typeof key !== 'string' || !Object.hasOwn(target, key)) return Reflect.get(target, key);
    return this.member(key, target[key]);
  }
}

class ListView extends View<JsonValue[]> {
  get(target: JsonValue[], key: string | symbol): unknown {
    if (typeof key === 'string' && key !== 'length' && Object.hasOwn(target, key)) {
      return this.member(key, target[Number(key)]);
    }
    return Reflect.get(target, key);
  }
}
