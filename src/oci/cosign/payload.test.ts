import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SIMPLE_SIGNING_TYPE,
  buildPayload,
  cosignDockerReference,
  parsePayload,
} from './payload.js';
import { thrown } from '../../../test/support/errors.js';

const DIGEST = 'sha256:5f481572d088dc4023afb35fced9530ced3d9b03bf7299c6f492163cb9f0452e';

function messageOf(fn: () => unknown): string {
  return thrown(fn, 'signature_invalid').message;
}

describe('buildPayload', () => {
  it('produces the bytes cosign signed (hash recorded in Rekor)', () => {
    // sigstore-rs src/cosign/signature_layers.rs `build_bundle()`: the Rekor entry cosign
    // created when signing this payload records its SHA-256 as e7801de9…4067.
    const payload = buildPayload({
      dockerReference: 'registry-testing.svc.lan/kubewarden/disallow-service-nodeport',
      manifestDigest: DIGEST,
    });
    expect(createHash('sha256').update(payload).digest('hex')).toBe(
      'e7801de935512e22b237c7b57e42ca4d20e2134bdf1b98f976c8f55d9cfe4067',
    );
  });

  it('writes Go field order, optional null without annotations', () => {
    const text = buildPayload({
      dockerReference: 'ghcr.io/a/b',
      manifestDigest: DIGEST,
    }).toString();
    expect(text).toBe(
      `{"critical":{"identity":{"docker-reference":"ghcr.io/a/b"},"image":{"docker-manifest-digest":"${DIGEST}"},` +
        `"type":"cosign container image signature"},"optional":null}`,
    );
    expect(
      buildPayload({
        dockerReference: 'ghcr.io/a/b',
        manifestDigest: DIGEST,
        annotations: {},
      }).toString(),
    ).toBe(text);
  });

  it('sorts annotation keys and escapes HTML characters as Go does', () => {
    const text = buildPayload({
      dockerReference: 'ghcr.io/a/b',
      manifestDigest: DIGEST,
      annotations: { zeta: 'z', env: 'prod', note: '<a&b>\u2028' },
    }).toString();
    expect(
      text.endsWith(
        '"optional":{"env":"prod","note":"\\u003ca\\u0026b\\u003e\\u2028","zeta":"z"}}',
      ),
    ).toBe(true);
    expect(parsePayload(Buffer.from(text)).annotations).toEqual({
      env: 'prod',
      note: '<a&b>\u2028',
      zeta: 'z',
    });
  });

  it('refuses a malformed digest', () => {
    expect(
      messageOf(() => buildPayload({ dockerReference: 'a/b', manifestDigest: 'latest' })),
    ).toMatch(/manifest digest "latest" is malformed/);
  });
});

describe('cosignDockerReference', () => {
  it('spells Docker Hub as go-containerregistry does', () => {
    expect(cosignDockerReference('docker.io', 'busybox')).toBe('index.docker.io/library/busybox');
    expect(cosignDockerReference('docker.io', 'library/busybox')).toBe(
      'index.docker.io/library/busybox',
    );
    expect(cosignDockerReference('ghcr.io', 'kubewarden/policies/pod-privileged')).toBe(
      'ghcr.io/kubewarden/policies/pod-privileged',
    );
  });
});

describe('parsePayload', () => {
  it('round-trips a built payload and freezes it', () => {
    const parsed = parsePayload(
      buildPayload({
        dockerReference: 'ghcr.io/a/b',
        manifestDigest: DIGEST,
        annotations: { env: 'prod' },
      }),
    );
    expect(parsed).toEqual({
      dockerReference: 'ghcr.io/a/b',
      manifestDigest: DIGEST,
      annotations: { env: 'prod' },
    });
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(Object.isFrozen(parsed.annotations)).toBe(true);
  });

  it('accepts an absent optional and ignores unknown fields', () => {
    const doc = {
      critical: {
        identity: { 'docker-reference': 'ghcr.io/a/b:v1' },
        image: { 'docker-manifest-digest': DIGEST },
        type: SIMPLE_SIGNING_TYPE,
        extra: 1,
      },
    };
    expect(parsePayload(Buffer.from(JSON.stringify(doc))).annotations).toBeNull();
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['not an object', '[]', /\(payload\) must be an object/],
    ['no critical', '{}', /\(payload\)\.critical is missing/],
    [
      'another type',
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': 'a/b' },
          image: { 'docker-manifest-digest': DIGEST },
          type: 'atomic container signature',
        },
      }),
      /critical.type is "atomic container signature"/,
    ],
    [
      'a bad digest',
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': 'a/b' },
          image: { 'docker-manifest-digest': 'x' },
          type: SIMPLE_SIGNING_TYPE,
        },
      }),
      /docker-manifest-digest must be a digest/,
    ],
    [
      'an empty reference',
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': '' },
          image: { 'docker-manifest-digest': DIGEST },
          type: SIMPLE_SIGNING_TYPE,
        },
      }),
      /docker-reference must be a non-empty string/,
    ],
    [
      'a list as optional',
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': 'a/b' },
          image: { 'docker-manifest-digest': DIGEST },
          type: SIMPLE_SIGNING_TYPE,
        },
        optional: [],
      }),
      /optional must be an object or null/,
    ],
  ])('refuses %s', (_name, text, pattern) => {
    expect(messageOf(() => parsePayload(Buffer.from(text)))).toMatch(pattern);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(messageOf(() => parsePayload(Buffer.from([0x7b, 0xff, 0x7d])))).toMatch(/not JSON/);
  });
});
