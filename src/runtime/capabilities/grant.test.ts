import { describe, expect, it } from 'vitest';
import { hostCapabilityPatternError } from './grant.js';

describe('hostCapabilityPatternError (Kubewarden capability tree)', () => {
  it.each([
    '*',
    'oci/*',
    'oci/v2/*',
    'oci/v1/verify',
    'oci/v1/manifest_digest',
    'oci/v1/oci_manifest',
    'oci/v1/oci_manifest_config',
    'net/v1/dns_lookup_host',
    'net/*',
    'crypto/v1/is_certificate_trusted',
    'crypto/*',
    'kubernetes/can_i',
    'kubernetes/get_resource',
    'kubernetes/list_resources_all',
    'kubernetes/list_resources_by_namespace',
    'kubernetes/*',
    ' oci/* ',
  ])('accepts %j', (pattern) => {
    expect(hostCapabilityPatternError(pattern)).toBeUndefined();
  });

  it.each([
    ['', 'invalid pattern: pattern must not be empty'],
    [
      'oci*',
      `invalid pattern "oci*": wildcard '*' must be the entire last path segment (e.g. 'oci/*'), not a partial match`,
    ],
    ['oci/v1/oci_*', "wildcard '*' must be the entire last path segment"],
    ['*/oci', "wildcard '*' must be the entire last path segment"],
    [
      'oci/v99/verify',
      'invalid pattern "oci/v99/verify": unknown segment "v99", valid options at this level are: v1, v2',
    ],
    [
      'unknown/v1/op',
      'unknown segment "unknown", valid options at this level are: crypto, kubernetes, net, oci',
    ],
    ['unknown/*', 'unknown segment "unknown"'],
    ['oci/v1/nonexistent', 'unknown segment "nonexistent"'],
    ['kubernetes/nonexistent', 'unknown segment "nonexistent"'],
    [
      'oci/v1',
      'invalid pattern "oci/v1": not a complete capability path; use "oci/v1/*" to allow all capabilities under it',
    ],
    ['oci', 'use "oci/*"'],
    ['kubernetes', 'use "kubernetes/*"'],
  ])('rejects %j', (pattern, message) => {
    expect(hostCapabilityPatternError(pattern)).toContain(message);
  });
});
