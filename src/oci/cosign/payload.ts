import { PalisadeError, errorMessage } from '../../shared/errors.js';

/**
 * Cosign's simple-signing payload (the `containers/image` signature format): the bytes a
 * cosign signature signs, stored as the layer of a signature image. What is signed are the
 * bytes themselves, so building them must match cosign byte for byte: Go's `encoding/json`
 * field order (`critical{identity, image, type}`, `optional`), no spaces, map keys sorted,
 * `<`, `>`, `&` escaped, and `"optional":null` when there are no annotations (cosign only
 * creates the map when `-a key=value` is given).
 */

/** The `critical.type` cosign writes and requires. */
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

/** A parsed payload: what the signer claims about the image. */
export interface SimpleSigningPayload {
  /** `critical.identity.docker-reference`: registry/repository (newer cosign may add a tag). */
  readonly dockerReference: string;
  /** `critical.image.docker-manifest-digest`: the signed manifest's digest, `sha256:<hex>`. */
  readonly manifestDigest: string;
  /** `optional`: the signer's annotations (`cosign sign -a k=v`), null when there are none. */
  readonly annotations: Readonly<Record<string, unknown>> | null;
}

export interface PayloadInput {
  /** Written as is; see {@link cosignDockerReference} for the spelling cosign uses. */
  readonly dockerReference: string;
  readonly manifestDigest: string;
  /** String values, as `cosign sign -a key=value` produces; empty or absent gives `null`. */
  readonly annotations?: Readonly<Record<string, string>>;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * The docker-reference cosign writes for an image: go-containerregistry's repository name,
 * in which Docker Hub is `index.docker.io` and single names gain `library/`.
 */
export function cosignDockerReference(registry: string, repository: string): string {
  const hub = registry === 'docker.io' || registry === 'index.docker.io';
  const repo = hub && !repository.includes('/') ? `library/${repository}` : repository;
  return `${hub ? 'index.docker.io' : registry}/${repo}`;
}

/** The payload bytes cosign would sign for this image and these annotations. */
export function buildPayload(input: PayloadInput): Buffer {
  if (!DIGEST.test(input.manifestDigest)) {
    throw payloadError(`manifest digest ${JSON.stringify(input.manifestDigest)} is malformed`);
  }
  const annotations = input.annotations ?? {};
  const optional = Object.keys(annotations).length === 0 ? 'null' : goStringMap(annotations);
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":${goString(input.dockerReference)}},` +
      `"image":{"docker-manifest-digest":${goString(input.manifestDigest)}},` +
      `"type":${goString(SIMPLE_SIGNING_TYPE)}},"optional":${optional}}`,
    'utf8',
  );
}

/**
 * Reads a payload from the bytes of a signature layer. Like cosign, it refuses another
 * `critical.type` (a payload of another format must not pass for an image signature) and
 * ignores unknown fields.
 */
export function parsePayload(bytes: Uint8Array): SimpleSigningPayload {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw payloadError(`not JSON: ${errorMessage(e)}`, e);
  }
  const critical = field(doc, 'critical', '(payload)');
  const identity = field(critical, 'identity', 'critical');
  const image = field(critical, 'image', 'critical');
  const type = field(critical, 'type', 'critical');
  const dockerReference = field(identity, 'docker-reference', 'critical.identity');
  const manifestDigest = field(image, 'docker-manifest-digest', 'critical.image');
  if (type !== SIMPLE_SIGNING_TYPE) {
    throw payloadError(`critical.type is ${JSON.stringify(type)}, not "${SIMPLE_SIGNING_TYPE}"`);
  }
  if (typeof dockerReference !== 'string' || dockerReference === '') {
    throw payloadError('critical.identity.docker-reference must be a non-empty string');
  }
  if (typeof manifestDigest !== 'string' || !DIGEST.test(manifestDigest)) {
    throw payloadError('critical.image.docker-manifest-digest must be a digest such as sha256:…');
  }
  const optional = (doc as Record<string, unknown>)['optional'] ?? null;
  if (optional !== null && !isRecord(optional)) {
    throw payloadError('optional must be an object or null');
  }
  return Object.freeze({
    dockerReference,
    manifestDigest,
    annotations: optional === null ? null : Object.freeze({ ...optional }),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(parent: unknown, name: string, where: string): unknown {
  if (!isRecord(parent)) throw payloadError(`${where} must be an object`);
  if (!(name in parent)) throw payloadError(`${where}.${name} is missing`);
  return parent[name];
}

function payloadError(message: string, cause?: unknown): PalisadeError {
  return new PalisadeError(
    'signature_invalid',
    `not a cosign simple-signing payload: ${message}`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * A JSON string as Go's `encoding/json` writes it: JSON.stringify's escapes plus `<`, `>`,
 * `&`, U+2028 and U+2029 as `\u00XX` (HTML-safe encoding, Go's default).
 */
export function goString(value: string): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A `map[string]string` as Go marshals it: keys sorted by their UTF-8 bytes. */
export function goStringMap(map: Readonly<Record<string, string>>): string {
  const keys = Object.keys(map).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${goString(k)}:${goString(map[k] ?? '')}`).join(',')}}`;
}
