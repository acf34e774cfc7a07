import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { createRegoGuest, firstResult } from '../sandbox/rego.js';
import { GuestError, type Guest, type GuestSpec } from '../sandbox/guest.js';

const { applyPatch } = fastJsonPatch;

/**
 * Kubewarden's `opa` mode: input `{request}`, the settings as data, and a result that is an
 * AdmissionReview whose `response` carries the decision.
 */
export function createGuest(spec: GuestSpec): Guest {
  return createRegoGuest(spec, {
    data: spec.settings ?? {},
    input: (request) => ({ request }),
    respond: (resultSet, request) => validationResponse(firstResult(resultSet), request),
  });
}

/**
 * Kubewarden passes the response's status, warnings, audit annotations and JSONPatch
 * through; the patch is applied here, so the engine computes (and guards) the mutation the
 * same way for every kind of policy.
 */
function validationResponse(result: unknown, request: unknown): Record<string, unknown> {
  const response =
    isObject(result) && isObject(result['response']) ? result['response'] : undefined;
  if (!response || typeof response['allowed'] !== 'boolean') {
    throw new GuestError(
      `cannot interpret OPA policy result: it must be an AdmissionReview with response.allowed, got ${JSON.stringify(result).slice(0, 200)}`,
    );
  }
  const status = isObject(response['status']) ? response['status'] : {};
  const warnings = response['warnings'];
  const annotations = response['auditAnnotations'];
  return {
    accepted: response['allowed'],
    ...(typeof status['message'] === 'string' ? { message: status['message'] } : {}),
    ...(typeof status['code'] === 'number' ? { code: status['code'] } : {}),
    ...(Array.isArray(warnings) ? { warnings } : {}),
    ...(isObject(annotations) ? { audit_annotations: annotations } : {}),
    ...(typeof response['patch'] === 'string'
      ? { mutated_object: patched(request, response['patch']) }
      : {}),
  };
}

function patched(request: unknown, patch: string): unknown {
  const object = isObject(request) ? request['object'] : undefined;
  try {
    const operations = JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Operation[];
    return applyPatch(structuredClone(object), operations, true, false).newDocument;
  } catch (e) {
    throw new GuestError(`the Rego policy returned a patch that does not apply: ${String(e)}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
