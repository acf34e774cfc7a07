import { isJsonObject, type JsonValue } from '../shared/admission.js';
import { PalisadeError } from '../shared/errors.js';
import type { PolicyVerdict } from '../shared/policy.js';

/**
 * Reads a guest's ValidationResponse (snake_case, as every Kubewarden SDK writes it). A guest
 * that answers something else is a failed evaluation naming what was wrong, never a crash.
 */
export function verdictFromGuest(policyId: string, output: Uint8Array): PolicyVerdict {
  const value = parseJson(policyId, output, 'ValidationResponse');
  if (!isJsonObject(value) || typeof value['accepted'] !== 'boolean') {
    throw invalid(policyId, 'ValidationResponse', '"accepted" must be a boolean', output);
  }
  const message = value['message'];
  const code = value['code'];
  const warnings = value['warnings'];
  const annotations = value['audit_annotations'];
  const mutated = value['mutated_object'];
  return {
    accepted: value['accepted'],
    ...(typeof message === 'string' ? { message } : {}),
    ...(typeof code === 'number' && Number.isInteger(code) ? { code } : {}),
    ...(mutated !== undefined && mutated !== null ? { mutatedObject: mutated } : {}),
    ...(Array.isArray(warnings) && warnings.length > 0
      ? { warnings: warnings.filter((w): w is string => typeof w === 'string') }
      : {}),
    ...(isJsonObject(annotations) && Object.keys(annotations).length > 0
      ? { auditAnnotations: stringValues(annotations) }
      : {}),
  };
}

/** Reads a SettingsValidationResponse: `{valid, message?}`. */
export function settingsVerdict(
  policyId: string,
  output: Uint8Array,
): { valid: boolean; message?: string } {
  const value = parseJson(policyId, output, 'SettingsValidationResponse');
  if (!isJsonObject(value) || typeof value['valid'] !== 'boolean') {
    throw invalid(policyId, 'SettingsValidationResponse', '"valid" must be a boolean', output);
  }
  const message = value['message'];
  return { valid: value['valid'], ...(typeof message === 'string' ? { message } : {}) };
}

const decoder = new TextDecoder();

function parseJson(policyId: string, output: Uint8Array, what: string): JsonValue {
  try {
    return JSON.parse(decoder.decode(output)) as JsonValue;
  } catch {
    throw invalid(policyId, what, 'it is not JSON', output);
  }
}

function invalid(policyId: string, what: string, why: string, output: Uint8Array): PalisadeError {
  const shown = decoder.decode(output.subarray(0, 200));
  return new PalisadeError(
    'policy_evaluation_failed',
    `policy "${policyId}" answered an invalid ${what} (${why}): ${JSON.stringify(shown)}`,
  );
}

function stringValues(o: Record<string, JsonValue>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}
