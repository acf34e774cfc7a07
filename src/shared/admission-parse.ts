import { isJsonObject, type AdmissionRequest, type JsonValue } from './admission.js';
import { PalisadeError } from './errors.js';

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

/**
 * Accepts a whole AdmissionReview or a bare AdmissionRequest and returns the request,
 * checking the fields the engine relies on. Errors name the field (`request.kind.kind`)
 * and `where` the document came from.
 */
export function parseAdmissionRequest(value: JsonValue, where: string): AdmissionRequest {
  const isReview = isJsonObject(value) && ('request' in value || value.kind === 'AdmissionReview');
  const request = isReview ? value.request : value;
  const prefix = isReview ? 'request' : '';
  const at = (field: string): string => (prefix ? `${prefix}.${field}` : field);
  const fail = (field: string, problem: string): never => {
    throw new PalisadeError('request_invalid', `${where}: ${field} ${problem}`);
  };
  if (!isJsonObject(request))
    return fail(prefix || 'document', 'must be an AdmissionRequest object');
  if (typeof request.uid !== 'string') fail(at('uid'), 'must be a string');
  for (const [field, keys] of [
    ['kind', ['group', 'version', 'kind']],
    ['resource', ['group', 'version', 'resource']],
  ] as const) {
    const v = request[field];
    if (!isJsonObject(v)) return fail(at(field), 'must be an object');
    for (const k of keys)
      if (typeof v[k] !== 'string') fail(at(`${field}.${k}`), 'must be a string');
  }
  if (typeof request.operation !== 'string' || !OPERATIONS.has(request.operation)) {
    fail(at('operation'), 'must be one of CREATE, UPDATE, DELETE, CONNECT');
  }
  if (request.namespace !== undefined && typeof request.namespace !== 'string')
    fail(at('namespace'), 'must be a string');
  if (request.userInfo !== undefined && !isJsonObject(request.userInfo))
    fail(at('userInfo'), 'must be an object');
  const out = { ...request, userInfo: request.userInfo ?? {} };
  return out as unknown as AdmissionRequest;
}
