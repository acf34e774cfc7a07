import { isJsonObject, type AdmissionRequest, type JsonValue } from './admission.js';
import { PalisadeError } from './errors.js';

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

export interface ParseAdmissionOptions {
  /**
   * The policy server only takes AdmissionReviews, as the API server sends them; the CLI
   * also takes a bare AdmissionRequest, which is what users copy out of logs.
   */
  readonly requireReview?: boolean;
}

/**
 * Returns the AdmissionRequest of a review (or a bare request), checking the fields the
 * engine relies on, so a malformed document is a `request_invalid` error naming the field
 * (`"request.kind.kind"`) and `where` it came from, never a TypeError deeper down. The rest
 * is passed through as sent; a missing `userInfo` becomes `{}`.
 */
export function parseAdmissionRequest(
  value: unknown,
  where: string,
  options: ParseAdmissionOptions = {},
): AdmissionRequest {
  const fail = (problem: string): never => {
    throw new PalisadeError('request_invalid', `${where}: ${problem}`);
  };
  if (!isJsonObject(value)) return fail('must be a JSON object (an AdmissionReview)');
  const doc = value as Record<string, JsonValue>;
  const isReview =
    options.requireReview === true || 'request' in doc || doc.kind === 'AdmissionReview';
  if (isReview && doc.request === undefined)
    return fail('the AdmissionReview has no "request" field');
  const request = isReview ? doc.request : doc;
  const at = (field: string): string => `"${isReview ? `request.${field}` : field}"`;
  if (!isJsonObject(request))
    return fail(`${isReview ? '"request"' : 'the document'} must be an object`);
  if (typeof request.uid !== 'string' || request.uid === '')
    fail(`${at('uid')} must be a non-empty string`);
  for (const [field, keys] of [
    ['kind', ['group', 'version', 'kind']],
    ['resource', ['group', 'version', 'resource']],
  ] as const) {
    const v = request[field];
    if (!isJsonObject(v)) return fail(`${at(field)} must be an object`);
    for (const k of keys)
      if (typeof v[k] !== 'string') fail(`${at(`${field}.${k}`)} must be a string`);
  }
  if (typeof request.operation !== 'string' || !OPERATIONS.has(request.operation)) {
    fail(`${at('operation')} must be one of CREATE, UPDATE, DELETE, CONNECT`);
  }
  if (request.namespace !== undefined && typeof request.namespace !== 'string') {
    fail(`${at('namespace')} must be a string`);
  }
  if (request.userInfo !== undefined && !isJsonObject(request.userInfo)) {
    fail(`${at('userInfo')} must be an object`);
  }
  return { ...request, userInfo: request.userInfo ?? {} } as unknown as AdmissionRequest;
}
