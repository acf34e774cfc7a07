import { createRegoGuest, firstResult } from '../sandbox/rego.js';
import { GuestError, type Guest, type GuestSpec } from '../sandbox/guest.js';

/**
 * Kubewarden's `opa` mode: input `{request}`, the settings as data, and a result that is an
 * AdmissionReview whose `response` carries the decision.
 */
export function createGuest(spec: GuestSpec): Guest {
  return createRegoGuest(spec, {
    data: spec.settings ?? {},
    input: (request) => ({ request }),
    respond: (resultSet) => validationResponse(firstResult(resultSet)),
  });
}

function validationResponse(result: unknown): Record<string, unknown> {
  const response =
    isObject(result) && isObject(result['response']) ? result['response'] : undefined;
  if (!response || typeof response['allowed'] !== 'boolean') {
    throw new GuestError(
      `the Rego policy must return an AdmissionReview with response.allowed, got ${JSON.stringify(result).slice(0, 200)}`,
    );
  }
  const status = isObject(response['status']) ? response['status'] : {};
  return {
    accepted: response['allowed'],
    ...(typeof status['message'] === 'string' ? { message: status['message'] } : {}),
    ...(typeof status['code'] === 'number' ? { code: status['code'] } : {}),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
