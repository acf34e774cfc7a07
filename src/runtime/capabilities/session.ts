import { isJsonObject, type JsonValue } from '../../shared/admission.js';
import { PalisadeError, errorMessage } from '../../shared/errors.js';
import { parse, parseDocument, stringify } from 'yaml';
import {
  isCallbackRequestType,
  readCallbackRequest,
  type CallbackRequest,
} from './callback-request.js';
import { canonicalJson } from './schema.js';

/**
 * One host call of a kwctl session file (`--record-host-capabilities-interactions`), as kwctl's
 * `callback_handler/proxy.rs` writes it: the request is Kubewarden's `CallbackRequestType`
 * serialised to YAML (`!Variant` tag, snake_case fields) and kept as a string; the response is
 * the payload text or the handler's error message.
 */
export interface SessionExchange {
  readonly request: CallbackRequest;
  readonly response:
    | { readonly type: 'Success'; readonly payload: string }
    | { readonly type: 'Error'; readonly message: string };
}

function invalid(message: string, cause?: unknown): PalisadeError {
  return new PalisadeError(
    'host_capabilities_session_invalid',
    message,
    cause === undefined ? {} : { cause },
  );
}

/** `!Variant` + the fields, the text serde_yaml produces for a `CallbackRequestType`. */
export function formatSessionRequest(request: CallbackRequest): string {
  return `!${request.type}\n${stringify(request.fields, { lineWidth: 0 })}`;
}

/**
 * Reads a recorded request: the `!Variant` tagged mapping kwctl writes, or a one-key
 * `{Variant: {...}}` mapping. Fields are normalised like a live payload (absent optionals are
 * `null`), so files recorded before a field existed (e.g. `field_masks`) still match.
 */
export function parseSessionRequest(text: string, where: string): CallbackRequest {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw invalid(`${where}: ${doc.errors[0]?.message ?? 'bad YAML'}`);
  const tag = (doc.contents as { tag?: string } | null)?.tag;
  let type = tag?.replace(/^!/, '');
  let body = doc.toJS() as JsonValue;
  if (type === undefined && isJsonObject(body) && Object.keys(body).length === 1) {
    type = Object.keys(body)[0];
    body = type === undefined ? null : (body[type] ?? null);
  }
  if (type === undefined || !isCallbackRequestType(type)) {
    throw invalid(`${where}: unknown request type ${JSON.stringify(type ?? '')}`);
  }
  try {
    return readCallbackRequest(type, body);
  } catch (e) {
    throw invalid(`${where}: ${errorMessage(e)}`, e);
  }
}

function parseResponse(value: JsonValue | undefined, where: string): SessionExchange['response'] {
  if (!isJsonObject(value)) throw invalid(`${where}.response must be a mapping`);
  if (value['type'] === 'Success' && typeof value['payload'] === 'string') {
    return { type: 'Success', payload: value['payload'] };
  }
  if (value['type'] === 'Error' && typeof value['message'] === 'string') {
    return { type: 'Error', message: value['message'] };
  }
  throw invalid(`${where}.response must be {type: Success, payload} or {type: Error, message}`);
}

/** Parses a whole session file; throws `host_capabilities_session_invalid` naming the entry. */
export function parseSession(yamlText: string): SessionExchange[] {
  let document: unknown;
  try {
    document = parse(yamlText) as unknown;
  } catch (e) {
    throw invalid(`session file is not YAML: ${errorMessage(e)}`, e);
  }
  if (document === null || document === undefined) return [];
  if (!Array.isArray(document)) throw invalid('a session file is a YAML sequence of exchanges');
  return document.map((entry: JsonValue, i): SessionExchange => {
    const where = `exchange[${i}]`;
    if (!isJsonObject(entry)) throw invalid(`${where} must be a mapping`);
    if (entry['type'] !== undefined && entry['type'] !== 'Exchange') {
      throw invalid(`${where}.type must be Exchange`);
    }
    const request = entry['request'];
    if (typeof request !== 'string') throw invalid(`${where}.request must be a YAML string`);
    return {
      request: parseSessionRequest(request, `${where}.request`),
      response: parseResponse(entry['response'], where),
    };
  });
}

/** The session file text, byte-compatible in shape with kwctl's so either tool can replay it. */
export function formatSession(exchanges: readonly SessionExchange[]): string {
  const entries = exchanges.map((e) => ({
    type: 'Exchange',
    request: formatSessionRequest(e.request),
    response: { ...e.response },
  }));
  return entries.length === 0 ? '[]\n' : stringify(entries, { lineWidth: 0 });
}

/** Whether two requests are the same call (serde's `PartialEq` on the parsed structs). */
export function sameRequest(a: CallbackRequest, b: CallbackRequest): boolean {
  return a.type === b.type && canonicalJson(a.fields) === canonicalJson(b.fields);
}

/** A one-line view of a request for error messages. */
export function describeRequest(request: CallbackRequest): string {
  return `${request.type} ${canonicalJson(request.fields)}`;
}
