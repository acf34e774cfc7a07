import { describe, expect, it } from 'vitest';
import { applyPatch, decodePatch } from './patch.js';
import { applyAdmissionRules, responseFromVerdict } from './response.js';
import { deploymentRequest } from './testdata.js';

const policy = { id: 'clusterwide-add-label', mode: 'protect', allowedToMutate: true };

describe('mutation', () => {
  it('turns a returned mutated object into a JSON patch against request.object', () => {
    const request = deploymentRequest(3);
    const mutated = structuredClone(request.object) as {
      metadata: { labels: Record<string, string> };
    };
    mutated.metadata.labels.team = 'payments';
    const response = responseFromVerdict(request, { accepted: true, mutatedObject: mutated });
    expect(response.patchType).toBe('JSONPatch');
    const patch = decodePatch(response.patch ?? '');
    expect(patch).toEqual([{ op: 'add', path: '/metadata/labels/team', value: 'payments' }]);
    expect(applyPatch(request.object, patch)).toEqual(mutated);
  });

  it('sends no patch when the object did not change', () => {
    const request = deploymentRequest(3);
    expect(
      responseFromVerdict(request, { accepted: true, mutatedObject: request.object ?? null }),
    ).toEqual({ uid: 'uid-1', allowed: true });
  });

  it('rejects a mutation from a policy not allowed to mutate, as Kubewarden does', () => {
    const request = deploymentRequest(3);
    const mutated = { ...(request.object as object), extra: true };
    const response = responseFromVerdict(request, { accepted: true, mutatedObject: mutated });
    const out = applyAdmissionRules(response, { ...policy, allowedToMutate: false }, request);
    expect(out.allowed).toBe(false);
    expect(out.status?.message).toBe(
      'Request rejected by policy clusterwide-add-label. The policy attempted to mutate the request, but it is currently configured to not allow mutations.',
    );
    expect(out.patch).toBeUndefined();
  });

  it('keeps the patch for a mutating policy, and drops everything in monitor mode', () => {
    const request = deploymentRequest(3);
    const response = responseFromVerdict(request, {
      accepted: true,
      mutatedObject: { ...(request.object as object), extra: true },
    });
    expect(applyAdmissionRules(response, policy, request).patch).toBe(response.patch);
    expect(applyAdmissionRules(response, { ...policy, mode: 'monitor' }, request)).toEqual({
      uid: 'uid-1',
      allowed: true,
    });
  });

  it('rejects a patch for a request without an object (DELETE)', () => {
    const request = deploymentRequest(3, { operation: 'DELETE' });
    const response = {
      uid: 'uid-1',
      allowed: true,
      patchType: 'JSONPatch' as const,
      patch: Buffer.from('[]').toString('base64'),
    };
    delete request.object;
    expect(applyAdmissionRules(response, policy, request).allowed).toBe(false);
  });

  it('names the failing operation when a patch cannot be applied', () => {
    expect(() => applyPatch({ a: 1 }, [{ op: 'remove', path: '/b' }])).toThrow(
      /cannot apply patch/,
    );
  });
});
