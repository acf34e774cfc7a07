import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { PalisadeError } from '../../shared/errors.js';
import { goString, goStringMap } from './payload.js';

/**
 * Cosign signatures and the image that carries them. A signature is ECDSA over SHA-256 of
 * the payload bytes, ASN.1 DER, base64 (standard alphabet, padded). Cosign stores the
 * signatures of manifest `sha256:<hex>` in the same repository under the tag
 * `sha256-<hex>.sig`: an OCI image whose layers are the payloads (media type
 * simplesigning) with the signature in the layer annotation
 * `dev.cosignproject.cosign/signature`. Signing again appends a layer, so every signature
 * made so far stays; this is what Kubewarden (through sigstore-rs) reads.
 */

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';
/** What `COSIGN_DOCKER_MEDIA_TYPES=1` writes; read, never written. */
const DOCKER_MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DIGEST = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;

/** The payload's signature with `key` (P-256), base64 of the DER encoding, as cosign writes it. */
export function signPayload(payload: Uint8Array, key: KeyObject): string {
  return sign('sha256', payload, { key, dsaEncoding: 'der' }).toString('base64');
}

/**
 * True when `signature` (base64 DER) is `publicKey`'s signature of exactly these bytes.
 * Anything malformed is simply not a valid signature: false, never a throw.
 */
export function verifyPayload(
  payload: Uint8Array,
  signature: string,
  publicKey: KeyObject,
): boolean {
  if (!BASE64.test(signature) || signature.length % 4 !== 0 || signature === '') return false;
  try {
    return verify(
      'sha256',
      payload,
      { key: publicKey, dsaEncoding: 'der' },
      Buffer.from(signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/** `sha256:<hex>` as an OCI digest string. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The tag cosign stores the signatures of `manifestDigest` under: `sha256-<hex>.sig`. */
export function signatureTag(manifestDigest: string): string {
  const match = DIGEST.exec(manifestDigest);
  if (match === null) {
    throw new PalisadeError(
      'signature_invalid',
      `cannot name the signature tag: ${JSON.stringify(manifestDigest)} is not a manifest digest`,
    );
  }
  return `${match[1] ?? ''}-${match[2] ?? ''}.sig`;
}

/** An OCI descriptor as it appears in a manifest (the fields Palisade reads or keeps). */
export interface Descriptor {
  readonly mediaType: string;
  readonly size: number;
  readonly digest: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A signature image's manifest, parsed (see {@link parseSignatureManifest}). */
export interface SignatureManifest {
  readonly layers: readonly Descriptor[];
}

/** One signature layer of a fetched signature image. */
export interface SignatureLayer {
  readonly digest: string;
  readonly size: number;
  readonly signature: string;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface SignatureImage {
  readonly config: Buffer;
  readonly configMediaType: string;
  readonly layer: {
    readonly bytes: Buffer;
    readonly mediaType: string;
    readonly digest: string;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly manifest: Buffer;
  readonly manifestMediaType: string;
  /**
   * The signature was already there (same payload, signed by the same key): the manifest
   * is the existing layers unchanged, and there is nothing new to push. Cosign skips such
   * a push too.
   */
  readonly duplicate: boolean;
}

export interface BuildSignatureImageOptions {
  /**
   * The signer's public key. With it, an existing layer with the same payload whose
   * signature verifies with this key counts as a duplicate (cosign's rule: ECDSA
   * signatures differ on every run). Without it, only an identical signature does.
   */
  readonly publicKey?: KeyObject;
}

/**
 * The signature image after adding this signature to `existing` (the manifest now under
 * the `.sig` tag, or undefined when there is none). Existing layers are kept as they are;
 * the config is rebuilt as cosign's empty signature image plus the layers:
 * go-containerregistry's JSON with a zero `created`, one empty history entry per layer
 * and the layer digests as diff_ids (the layers are stored uncompressed).
 */
export function buildSignatureImage(
  existing: SignatureManifest | undefined,
  payload: Uint8Array,
  signature: string,
  options: BuildSignatureImageOptions = {},
): SignatureImage {
  const bytes = Buffer.from(payload);
  const digest = sha256Digest(bytes);
  const annotations = { [SIGNATURE_ANNOTATION]: signature };
  const old = existing?.layers ?? [];
  const duplicate = old.some((l) => {
    if (l.digest !== digest || l.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) return false;
    const theirs = l.annotations?.[SIGNATURE_ANNOTATION];
    if (theirs === undefined) return false;
    return options.publicKey === undefined
      ? theirs === signature
      : verifyPayload(bytes, theirs, options.publicKey);
  });
  const layer = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: bytes.length, digest, annotations };
  const layers = duplicate ? old : [...old, layer];
  const config = Buffer.from(signatureConfig(layers.map((l) => l.digest)));
  const manifest =
    `{"schemaVersion":2,"mediaType":${goString(OCI_MANIFEST_MEDIA_TYPE)},` +
    `"config":${descriptorJson({ mediaType: OCI_CONFIG_MEDIA_TYPE, size: config.length, digest: sha256Digest(config) })},` +
    `"layers":[${layers.map(descriptorJson).join(',')}]}`;
  return {
    config,
    configMediaType: OCI_CONFIG_MEDIA_TYPE,
    layer: { bytes, mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest, annotations },
    manifest: Buffer.from(manifest),
    manifestMediaType: OCI_MANIFEST_MEDIA_TYPE,
    duplicate,
  };
}

/** go-containerregistry's `ConfigFile` JSON for a signature image: field order and zero values as Go writes them. */
function signatureConfig(diffIds: readonly string[]): string {
  const zero = '"0001-01-01T00:00:00Z"';
  const history = diffIds.map(() => `{"created":${zero}}`).join(',');
  return (
    `{"architecture":"","created":${zero},` +
    (diffIds.length > 0 ? `"history":[${history}],` : '') +
    `"os":"","rootfs":{"type":"layers","diff_ids":[${diffIds.map(goString).join(',')}]},"config":{}}`
  );
}

function descriptorJson(d: Descriptor): string {
  const annotations =
    d.annotations !== undefined && Object.keys(d.annotations).length > 0
      ? `,"annotations":${goStringMap(d.annotations)}`
      : '';
  return `{"mediaType":${goString(d.mediaType)},"size":${d.size},"digest":${goString(d.digest)}${annotations}}`;
}

/**
 * Reads the manifest under a `.sig` tag. Structural problems (not JSON, not an image
 * manifest, a descriptor without digest or size) are errors naming the field; layers of
 * other media types are skipped, as sigstore-rs does.
 */
export function parseSignatureManifest(bytes: Uint8Array): SignatureManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw manifestError('(manifest)', 'is not JSON');
  }
  if (!isRecord(doc)) throw manifestError('(manifest)', 'must be an object');
  if (doc['schemaVersion'] !== 2) throw manifestError('schemaVersion', 'must be 2');
  const mediaType = doc['mediaType'];
  if (
    mediaType !== undefined &&
    mediaType !== OCI_MANIFEST_MEDIA_TYPE &&
    mediaType !== DOCKER_MANIFEST_MEDIA_TYPE
  ) {
    throw manifestError('mediaType', `is ${JSON.stringify(mediaType)}, not an image manifest`);
  }
  const layers = doc['layers'];
  if (!Array.isArray(layers)) throw manifestError('layers', 'must be a list');
  return Object.freeze({
    layers: Object.freeze(layers.map((l: unknown, i) => descriptor(l, `layers[${i}]`))),
  });
}

/** The signatures in a fetched signature manifest, one per simple-signing layer. */
export function signatureLayers(manifest: Uint8Array | SignatureManifest): SignatureLayer[] {
  const parsed = manifest instanceof Uint8Array ? parseSignatureManifest(manifest) : manifest;
  const out: SignatureLayer[] = [];
  parsed.layers.forEach((l, i) => {
    if (l.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) return;
    const signature = l.annotations?.[SIGNATURE_ANNOTATION];
    if (signature === undefined || !BASE64.test(signature) || signature === '') {
      throw manifestError(
        `layers[${i}].annotations["${SIGNATURE_ANNOTATION}"]`,
        'must hold a base64 signature',
      );
    }
    out.push({ digest: l.digest, size: l.size, signature, annotations: l.annotations ?? {} });
  });
  return out;
}

/** The layer's bytes, once checked against its descriptor: a registry must not swap payloads. */
export function checkLayerBytes(
  layer: Pick<SignatureLayer, 'digest' | 'size'>,
  bytes: Uint8Array,
): Buffer {
  const actual = sha256Digest(bytes);
  if (!SHA256.test(layer.digest) || actual !== layer.digest || bytes.length !== layer.size) {
    throw new PalisadeError(
      'signature_invalid',
      `signature layer ${layer.digest} does not match its content (${actual}, ${bytes.length} bytes)`,
    );
  }
  return Buffer.from(bytes);
}

function descriptor(value: unknown, path: string): Descriptor {
  if (!isRecord(value)) throw manifestError(path, 'must be an object');
  const { mediaType, size, digest, annotations } = value;
  if (typeof mediaType !== 'string') throw manifestError(`${path}.mediaType`, 'must be a string');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw manifestError(`${path}.size`, 'must be a non-negative integer');
  }
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw manifestError(`${path}.digest`, 'must be a digest such as sha256:…');
  }
  if (annotations !== undefined && annotations !== null) {
    if (!isRecord(annotations) || !Object.values(annotations).every((v) => typeof v === 'string')) {
      throw manifestError(`${path}.annotations`, 'must map strings to strings');
    }
    return {
      mediaType,
      size,
      digest,
      annotations: Object.freeze({ ...(annotations as Record<string, string>) }),
    };
  }
  return { mediaType, size, digest };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function manifestError(path: string, message: string): PalisadeError {
  return new PalisadeError(
    'signature_invalid',
    `malformed signature manifest: ${path}: ${message}`,
    {
      fields: [{ path, message }],
    },
  );
}
