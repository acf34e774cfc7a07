import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, loadPrivateKey, loadPublicKey } from './keys.js';
import { buildPayload } from './payload.js';
import {
  OCI_CONFIG_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  buildSignatureImage,
  checkLayerBytes,
  parseSignatureManifest,
  sha256Digest,
  signPayload,
  signatureLayers,
  signatureTag,
  verifyPayload,
} from './signature.js';
import { thrown } from '../../../test/support/errors.js';

// sigstore-rs src/cosign/signature_layers.rs `build_correct_signature_layer_without_bundle()`:
// a key-based signature made by cosign (Go) for an image in sigstore-rs' test registry.
const COSIGN_PUB = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu
OSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==
-----END PUBLIC KEY-----`;
const COSIGN_DIGEST = 'sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b';
const COSIGN_PAYLOAD =
  '{"critical":{"identity":{"docker-reference":"registry-testing.svc.lan/busybox"},' +
  `"image":{"docker-manifest-digest":"${COSIGN_DIGEST}"},"type":"cosign container image signature"},"optional":null}`;
const COSIGN_SIGNATURE =
  'MEUCIQD6q/COgzOyW0YH1Dk+CCYSt4uAhm3FDHUwvPI55zwnlwIgE0ZK58ZOWpZw8YVmBapJhBqCfdPekIknimuO0xH8Jh8=';

// sigstore-rs signature_layers.rs `build_correct_signature_layer_with_certificate()` (also in
// kubewarden/policy-fetcher src/verify/mod.rs): a keyless cosign signature; its Fulcio
// certificate carries the signing key.
const FULCIO_CERT = `-----BEGIN CERTIFICATE-----
MIICdzCCAfygAwIBAgITA+PsaKjaEZqn7IY94b1e/jJnizAKBggqhkjOPQQDAzAq
MRUwEwYDVQQKEwxzaWdzdG9yZS5kZXYxETAPBgNVBAMTCHNpZ3N0b3JlMB4XDTIx
MTAyMDA3MjUxNloXDTIxMTAyMDA3NDUxNVowADBZMBMGByqGSM49AgEGCCqGSM49
AwEHA0IABINewQBS1f4AmNIENdL+U/HJotMSM7ZNnkTnYefxwV9TErpvnAZ0+DzL
yfAAVaeJtKjFvbOTb8F1yhJFU0XY+RijggEpMIIBJTAOBgNVHQ8BAf8EBAMCB4Aw
EwYDVR0lBAwwCgYIKwYBBQUHAwMwDAYDVR0TAQH/BAIwADAdBgNVHQ4EFgQUMf1R
MMsqNFBrWbx8mRNdxOkEEYswHwYDVR0jBBgwFoAUyMUdAEGaJCkyUSTrDa5K7UoG
0+wwgY0GCCsGAQUFBwEBBIGAMH4wfAYIKwYBBQUHMAKGcGh0dHA6Ly9wcml2YXRl
Y2EtY29udGVudC02MDNmZTdlNy0wMDAwLTIyMjctYmY3NS1mNGY1ZTgwZDI5NTQu
c3RvcmFnZS5nb29nbGVhcGlzLmNvbS9jYTM2YTFlOTYyNDJiOWZjYjE0Ni9jYS5j
cnQwIAYDVR0RAQH/BBYwFIESZmxhdmlvQGNhc3RlbGxpLm1lMAoGCCqGSM49BAMD
A2kAMGYCMQC3Y2ulPTsPmNS4czaKeje0BnOQHz5e6NBX0Bqx9Xca+t2kOi17sopc
/v/xH1xLuPoCMQDKND4WjHfKqXXOeUvZ9A96DqrEwGaqGMtnIuN4JzZYaULZrx9g
oXqqo/C9QnOHTto=
-----END CERTIFICATE-----`;
const KEYLESS_SIGNATURE =
  'MEUCIGqWScz7s9aP2sGXNFKeqivw3B6kPRs56AITIHnvd5igAiEA1kzbaV2Y5yPE81EN92NUFOl31LLJSvwsjFQ07m2XqaA=';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function invalid(fn: () => unknown): string {
  return thrown(fn, 'signature_invalid').message;
}

describe('cosign interop', () => {
  it('verifies a key-based signature cosign made', () => {
    expect(
      verifyPayload(Buffer.from(COSIGN_PAYLOAD), COSIGN_SIGNATURE, loadPublicKey(COSIGN_PUB)),
    ).toBe(true);
  });

  it('verifies a keyless signature cosign made over a payload built here', () => {
    const key = new X509Certificate(FULCIO_CERT).publicKey;
    const payload = buildPayload({
      dockerReference: 'registry-testing.svc.lan/kubewarden/disallow-service-nodeport',
      manifestDigest: 'sha256:5f481572d088dc4023afb35fced9530ced3d9b03bf7299c6f492163cb9f0452e',
    });
    expect(verifyPayload(payload, KEYLESS_SIGNATURE, key)).toBe(true);
  });

  it('rejects the cosign signature after any change', () => {
    const key = loadPublicKey(COSIGN_PUB);
    const tampered = Buffer.from(COSIGN_PAYLOAD);
    const at = tampered.length - 3;
    tampered.writeUInt8(tampered.readUInt8(at) ^ 1, at);
    expect(verifyPayload(tampered, COSIGN_SIGNATURE, key)).toBe(false);
    expect(
      verifyPayload(
        Buffer.from(COSIGN_PAYLOAD),
        COSIGN_SIGNATURE,
        loadPublicKey(generateKeyPair().publicKey),
      ),
    ).toBe(false);
  });
});

describe('signPayload / verifyPayload', () => {
  const pair = generateKeyPair();
  const key = loadPrivateKey(pair.privateKey);
  const pub = loadPublicKey(pair.publicKey);
  const payload = buildPayload({ dockerReference: 'ghcr.io/a/b', manifestDigest: DIGEST });

  it('round-trips a DER signature in padded standard base64', () => {
    const sig = signPayload(payload, key);
    expect(sig).toMatch(/^MEY?[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(sig, 'base64')[0]).toBe(0x30);
    expect(verifyPayload(payload, sig, pub)).toBe(true);
  });

  it('answers false, never throws, for malformed signatures', () => {
    const sig = signPayload(payload, key);
    expect(verifyPayload(payload, sig.replace(/=+$/, ''), pub)).toBe(
      sig.endsWith('=') ? false : true,
    );
    expect(verifyPayload(payload, '', pub)).toBe(false);
    expect(verifyPayload(payload, 'not base64!', pub)).toBe(false);
    expect(verifyPayload(payload, Buffer.from('garbage').toString('base64'), pub)).toBe(false);
    expect(verifyPayload(payload, Buffer.alloc(64, 1).toString('base64'), pub)).toBe(false);
  });
});

describe('signatureTag', () => {
  it('is cosign’s tag for a digest', () => {
    expect(signatureTag(COSIGN_DIGEST)).toBe(
      'sha256-f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b.sig',
    );
    expect(invalid(() => signatureTag('v1.0'))).toMatch(/"v1.0" is not a manifest digest/);
  });
});

describe('buildSignatureImage', () => {
  const pair = generateKeyPair();
  const key = loadPrivateKey(pair.privateKey);
  const pub = loadPublicKey(pair.publicKey);
  const payload = buildPayload({ dockerReference: 'ghcr.io/a/b', manifestDigest: DIGEST });

  it('writes cosign’s config and an OCI manifest for a first signature', () => {
    const sig = signPayload(payload, key);
    const image = buildSignatureImage(undefined, payload, sig);
    const layerDigest = sha256Digest(payload);
    expect(image.config.toString()).toBe(
      '{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],' +
        `"os":"","rootfs":{"type":"layers","diff_ids":["${layerDigest}"]},"config":{}}`,
    );
    expect(image.manifest.toString()).toBe(
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST_MEDIA_TYPE}",` +
        `"config":{"mediaType":"${OCI_CONFIG_MEDIA_TYPE}","size":${image.config.length},"digest":"${sha256Digest(image.config)}"},` +
        `"layers":[{"mediaType":"${SIMPLE_SIGNING_MEDIA_TYPE}","size":${payload.length},"digest":"${layerDigest}",` +
        `"annotations":{"${SIGNATURE_ANNOTATION}":"${sig}"}}]}`,
    );
    expect(image.layer).toEqual({
      bytes: payload,
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      digest: layerDigest,
      annotations: { [SIGNATURE_ANNOTATION]: sig },
    });
    expect(image.duplicate).toBe(false);
  });

  it('appends to an existing signature image, keeping every layer as it was', () => {
    const other = buildPayload({
      dockerReference: 'ghcr.io/a/b',
      manifestDigest: DIGEST,
      annotations: { env: 'prod' },
    });
    const first = buildSignatureImage(undefined, other, signPayload(other, key));
    const existing = parseSignatureManifest(first.manifest);
    const sig = signPayload(payload, key);
    const second = buildSignatureImage(existing, payload, sig, { publicKey: pub });
    expect(second.duplicate).toBe(false);
    const layers = signatureLayers(second.manifest);
    expect(layers.map((l) => l.digest)).toEqual([sha256Digest(other), sha256Digest(payload)]);
    expect(layers[1]?.signature).toBe(sig);
    expect(JSON.parse(second.config.toString())).toMatchObject({
      history: [{ created: '0001-01-01T00:00:00Z' }, { created: '0001-01-01T00:00:00Z' }],
      rootfs: { diff_ids: [sha256Digest(other), sha256Digest(payload)] },
    });
  });

  it('skips a signature that is already there', () => {
    const first = buildSignatureImage(undefined, payload, signPayload(payload, key));
    const existing = parseSignatureManifest(first.manifest);
    // ECDSA signatures differ on every run: with the key, cosign's rule finds the duplicate.
    const again = buildSignatureImage(existing, payload, signPayload(payload, key), {
      publicKey: pub,
    });
    expect(again.duplicate).toBe(true);
    expect(again.manifest.equals(first.manifest)).toBe(true);
    const sameSig = existing.layers[0]?.annotations?.[SIGNATURE_ANNOTATION] ?? '';
    expect(buildSignatureImage(existing, payload, sameSig).duplicate).toBe(true);
    // Without the key, a fresh signature of the same payload is another signature.
    expect(buildSignatureImage(existing, payload, signPayload(payload, key)).duplicate).toBe(false);
    // Another key's signature of the same payload is kept.
    const other = generateKeyPair();
    const otherKey = loadPrivateKey(other.privateKey);
    const theirs = buildSignatureImage(existing, payload, signPayload(payload, otherKey), {
      publicKey: loadPublicKey(other.publicKey),
    });
    expect(theirs.duplicate).toBe(false);
    expect(signatureLayers(theirs.manifest)).toHaveLength(2);
  });
});

describe('parseSignatureManifest / signatureLayers', () => {
  const layer = {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: 10,
    digest: DIGEST,
    annotations: { [SIGNATURE_ANNOTATION]: 'MEUC', 'dev.sigstore.cosign/bundle': '{}' },
  };
  const manifest = (layers: unknown, extra: object = {}): Buffer =>
    Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST_MEDIA_TYPE, layers, ...extra }),
    );

  it('lists the signature layers with their annotations, skipping other media types', () => {
    const other = { mediaType: 'application/vnd.in-toto+json', size: 1, digest: DIGEST };
    expect(signatureLayers(manifest([other, layer]))).toEqual([
      { digest: DIGEST, size: 10, signature: 'MEUC', annotations: layer.annotations },
    ]);
  });

  it.each([
    ['not JSON', Buffer.from('{'), /\(manifest\): is not JSON/],
    ['a list', Buffer.from('[]'), /\(manifest\): must be an object/],
    ['schema 1', manifest([], { schemaVersion: 1 }), /schemaVersion: must be 2/],
    [
      'an index',
      manifest([], { mediaType: 'application/vnd.oci.image.index.v1+json' }),
      /mediaType: is ".*index.*", not an image manifest/,
    ],
    ['no layers', manifest(undefined), /layers: must be a list/],
    [
      'a layer without digest',
      manifest([{ ...layer, digest: undefined }]),
      /layers\[0\]\.digest: must be a digest/,
    ],
    [
      'a negative size',
      manifest([{ ...layer, size: -1 }]),
      /layers\[0\]\.size: must be a non-negative integer/,
    ],
    [
      'numeric annotations',
      manifest([{ ...layer, annotations: { a: 1 } }]),
      /layers\[0\]\.annotations: must map strings to strings/,
    ],
    [
      'a layer without signature',
      manifest([{ ...layer, annotations: {} }]),
      /layers\[0\]\.annotations\["dev\.cosignproject\.cosign\/signature"\]: must hold a base64 signature/,
    ],
  ])('refuses %s', (_name, bytes, pattern) => {
    expect(invalid(() => signatureLayers(bytes))).toMatch(pattern);
  });

  it('reads Docker schema 2 manifests (COSIGN_DOCKER_MEDIA_TYPES)', () => {
    const bytes = manifest([layer], {
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    });
    expect(signatureLayers(bytes)).toHaveLength(1);
  });
});

describe('checkLayerBytes', () => {
  it('accepts the bytes a descriptor names and refuses others', () => {
    const bytes = Buffer.from('payload');
    const desc = { digest: sha256Digest(bytes), size: bytes.length };
    expect(checkLayerBytes(desc, bytes).equals(bytes)).toBe(true);
    expect(invalid(() => checkLayerBytes(desc, Buffer.from('payloaD')))).toMatch(
      /does not match its content/,
    );
    expect(invalid(() => checkLayerBytes({ ...desc, size: 3 }, bytes))).toMatch(
      /does not match its content/,
    );
  });
});
