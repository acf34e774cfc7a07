import { describe, expect, it } from 'vitest';
import { admissionRequestOf, parseAdmissionRoute } from './admission.js';
import { HttpError } from './http-io.js';

describe('parseAdmissionRoute', () => {
  it.each([
    ['/validate/p', { kind: 'validate', policyId: 'p' }],
    ['/validate/p?timeout=10s', { kind: 'validate', policyId: 'p' }],
    ['/audit/p', { kind: 'audit', policyId: 'p' }],
    ['/validate_raw/p', { kind: 'validate_raw', policyId: 'p' }],
    ['/validate/a%20b', { kind: 'validate', policyId: 'a b' }],
    ['/validate/', undefined],
    ['/validate/a/b', undefined],
    ['/validate', undefined],
    ['/metrics', undefined],
  ])('%s', (url, expected) => {
    expect(parseAdmissionRoute(url)).toEqual(expected);
  });

  it('refuses a malformed percent-encoding with a 400', () => {
    expect(() => parseAdmissionRoute('/validate/%E0%A4%A')).toThrow(HttpError);
  });
});

describe('admissionRequestOf', () => {
  const request = {
    uid: 'u',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
  };

  it('returns the request, with an empty userInfo when none was sent', () => {
    expect(admissionRequestOf({ request })).toEqual({ ...request, userInfo: {} });
  });

  it.each([
    [[], /JSON object/],
    [{}, /no "request"/],
    [{ request: 'x' }, /"request" must be an object/],
    [{ request: { ...request, uid: '' } }, /request\.uid/],
    [{ request: { ...request, kind: 'Pod' } }, /request\.kind/],
    [{ request: { ...request, resource: null } }, /request\.resource/],
    [{ request: { ...request, operation: 'PATCH' } }, /request\.operation/],
    [{ request: { ...request, userInfo: [] } }, /request\.userInfo/],
  ])('refuses %j', (document, message) => {
    let error: unknown;
    try {
      admissionRequestOf(document);
    } catch (e: unknown) {
      error = e;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(400);
    expect((error as HttpError).message).toMatch(message);
  });
});
