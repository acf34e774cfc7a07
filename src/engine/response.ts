import type { AdmissionRequest, AdmissionResponse } from '../shared/admission.js';
import type { PolicyVerdict } from '../shared/policy.js';
import { diffPatch, encodePatch } from './patch.js';

/** The admission response a verdict stands for, with a JSON patch when the object changed. */
export function responseFromVerdict(
  request: AdmissionRequest,
  verdict: PolicyVerdict,
): AdmissionResponse {
  const response: AdmissionResponse = { uid: request.uid, allowed: verdict.accepted };
  if (!verdict.accepted) {
    response.status = {
      ...(verdict.message !== undefined ? { message: verdict.message } : {}),
      ...(verdict.code !== undefined ? { code: verdict.code } : {}),
      ...(verdict.causes && verdict.causes.length > 0
        ? { details: { causes: [...verdict.causes] } }
        : {}),
    };
  }
  if (verdict.accepted && verdict.mutatedObject !== undefined) {
    const patch = diffPatch(request.object, verdict.mutatedObject);
    if (patch.length > 0) {
      response.patchType = 'JSONPatch';
      response.patch = encodePatch(patch);
    }
  }
  if (verdict.warnings && verdict.warnings.length > 0) response.warnings = [...verdict.warnings];
  if (verdict.auditAnnotations) response.auditAnnotations = { ...verdict.auditAnnotations };
  return response;
}

/** A policy-level failure: rejected with code 500 and the reason, as Kubewarden answers. */
export function failureResponse(uid: string, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { message, code: 500 } };
}

/**
 * Kubewarden's post-processing of admission answers, in its order: monitor mode lets
 * everything through; a policy not allowed to mutate that mutates is a rejection; a custom
 * message replaces the rejection message and keeps the original as a cause.
 */
export function applyAdmissionRules(
  response: AdmissionResponse,
  policy: {
    readonly id: string;
    readonly mode: string;
    readonly allowedToMutate: boolean;
    readonly message?: string;
  },
  request: AdmissionRequest,
): AdmissionResponse {
  if (policy.mode === 'monitor') return { uid: response.uid, allowed: true };
  let out = response;
  if (out.patch !== undefined && !policy.allowedToMutate) {
    out = {
      uid: out.uid,
      allowed: false,
      status: {
        message: `Request rejected by policy ${policy.id}. The policy attempted to mutate the request, but it is currently configured to not allow mutations.`,
      },
    };
  } else if (out.patch !== undefined && (request.object === undefined || request.object === null)) {
    out = {
      uid: out.uid,
      allowed: false,
      status: {
        message: `Request rejected by policy ${policy.id}. The policy attempted to mutate a request without an object.`,
      },
    };
  }
  if (!out.allowed && policy.message !== undefined && policy.message !== '') {
    const original = out.status?.message;
    const causes = [...(out.status?.details?.causes ?? [])];
    if (original !== undefined) causes.push({ message: original });
    out = {
      ...out,
      status: {
        ...out.status,
        message: policy.message,
        ...(causes.length > 0 ? { details: { causes } } : {}),
      },
    };
  }
  return out;
}
