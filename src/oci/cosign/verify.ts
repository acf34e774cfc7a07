import { PalisadeError, type FieldError } from '../../shared/errors.js';
import { parsePayload, type SimpleSigningPayload } from './payload.js';
import { verifyPayload } from './signature.js';
import type { PubKeySignature, VerificationConfig } from './verification-config.js';

/**
 * Decides whether an artifact's cosign signatures satisfy a verification config, the way
 * Kubewarden's policy-fetcher does (every `allOf` entry, and at least `minimumMatches` of
 * the `anyOf` entries). A signature counts for a `pubKey` entry only when all hold:
 * - it verifies with the entry's key over the payload bytes;
 * - the payload names the expected manifest digest (sigstore-rs drops other layers);
 * - the payload's docker-reference is the expected repository (tag and digest ignored,
 *   `docker.io` = `index.docker.io`), when one is expected: sigstore-rs does not check
 *   this, so a caller that must accept signatures copied from another registry
 *   (`cosign copy`) leaves `dockerReference` out;
 * - every annotation the entry lists is in the payload's `optional` with that value
 *   (numbers and booleans compared in their JSON spelling, as sigstore-rs does).
 *
 * Keyless entries (`genericIssuer`, `githubAction`) need Fulcio certificates checked
 * against the Sigstore trust root and Rekor: none of that is available offline, so any
 * such entry makes evaluation fail with `verification_unsupported` instead of silently
 * passing or failing.
 */

/** One signature of the artifact: the layer's payload bytes and its base64 signature. */
export interface CosignSignature {
  readonly payload: Uint8Array;
  readonly signature: string;
}

export interface ExpectedImage {
  /** `registry/repository` of the artifact (a tag or digest, if present, is ignored). */
  readonly dockerReference?: string;
  /** The artifact manifest's digest, `sha256:<hex>`. */
  readonly manifestDigest: string;
}

export interface VerificationOutcome {
  /** The entries satisfied, as `allOf[0] (pubKey)` / `anyOf.signatures[1] (pubKey)`. */
  readonly satisfied: readonly string[];
}

/** Checks the signatures against the config; throws `verification_failed` naming what is missing. */
export function evaluateVerification(
  config: VerificationConfig,
  signatures: readonly CosignSignature[],
  expected: ExpectedImage,
): VerificationOutcome {
  const allOf = (config.allOf ?? []).map((r, i) => ({ r, label: `allOf[${i}]` }));
  const anyOf = (config.anyOf?.signatures ?? []).map((r, i) => ({
    r,
    label: `anyOf.signatures[${i}]`,
  }));
  for (const { r, label } of [...allOf, ...anyOf]) {
    if (r.kind !== 'pubKey') {
      throw new PalisadeError(
        'verification_unsupported',
        `${label} (${r.kind}): keyless (Fulcio/Rekor) signature verification needs the internet ` +
          'and is not supported offline; verify with pubKey entries instead',
      );
    }
  }
  if (allOf.length === 0 && (config.anyOf?.minimumMatches ?? 0) === 0) {
    throw new PalisadeError('verification_failed', 'the verification config requires no signature');
  }
  const parsed = signatures.map((s) => ({ ...s, claims: claimsOf(s.payload) }));
  const satisfied: string[] = [];
  const failures: FieldError[] = [];
  for (const { r, label } of allOf) {
    const problem = check(r as PubKeySignature, parsed, expected);
    if (problem === undefined) satisfied.push(`${label} (pubKey)`);
    else failures.push({ path: `${label} (pubKey)`, message: problem });
  }
  if (config.anyOf !== undefined) {
    const misses: FieldError[] = [];
    let matched = 0;
    for (const { r, label } of anyOf) {
      const problem = check(r as PubKeySignature, parsed, expected);
      if (problem === undefined) {
        matched++;
        satisfied.push(`${label} (pubKey)`);
      } else misses.push({ path: `${label} (pubKey)`, message: problem });
    }
    const { minimumMatches } = config.anyOf;
    if (matched < minimumMatches) {
      failures.push({
        path: 'anyOf',
        message: `${matched} of ${anyOf.length} signatures matched, minimumMatches is ${minimumMatches}`,
      });
      failures.push(...misses);
    }
  }
  if (failures.length > 0) {
    const count =
      signatures.length === 0
        ? 'the artifact has no signatures'
        : `${signatures.length} signature(s) checked`;
    throw new PalisadeError(
      'verification_failed',
      `signature verification failed for ${expected.manifestDigest} (${count}): ` +
        failures.map((f) => `${f.path}: ${f.message}`).join('; '),
      { fields: failures },
    );
  }
  return Object.freeze({ satisfied: Object.freeze(satisfied) });
}

type Parsed = CosignSignature & { readonly claims: SimpleSigningPayload | string };

function claimsOf(payload: Uint8Array): SimpleSigningPayload | string {
  try {
    return parsePayload(payload);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Undefined when some signature satisfies the entry, else why none does (the closest miss). */
function check(
  entry: PubKeySignature,
  signatures: readonly Parsed[],
  expected: ExpectedImage,
): string | undefined {
  const signed = signatures.filter((s) => verifyPayload(s.payload, s.signature, entry.publicKey));
  const owner = entry.owner === undefined ? '' : ` (owner ${entry.owner})`;
  if (signed.length === 0) return `no signature verifies with this key${owner}`;
  const reasons = signed.map((s) => mismatch(s.claims, entry, expected));
  if (reasons.includes(undefined)) return undefined;
  return `${signed.length} signature(s) verify with this key${owner} but ${reasons[0] ?? ''}`;
}

function mismatch(
  claims: SimpleSigningPayload | string,
  entry: PubKeySignature,
  expected: ExpectedImage,
): string | undefined {
  if (typeof claims === 'string') return `the payload is unusable: ${claims}`;
  if (claims.manifestDigest !== expected.manifestDigest) {
    return `they sign ${claims.manifestDigest}, not ${expected.manifestDigest}`;
  }
  if (
    expected.dockerReference !== undefined &&
    repositoryOf(claims.dockerReference) !== repositoryOf(expected.dockerReference)
  ) {
    return `they name ${claims.dockerReference}, not ${expected.dockerReference}`;
  }
  for (const [key, want] of Object.entries(entry.annotations ?? {})) {
    const have = claims.annotations?.[key];
    if (annotationText(have) !== want) {
      const found = have === undefined ? 'missing' : JSON.stringify(have);
      return `annotation ${key}=${want} is ${found}`;
    }
  }
  return undefined;
}

function annotationText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * `registry/repository` with Docker Hub spelled one way, a tag or digest dropped: what two
 * references must share to name the same repository.
 */
export function repositoryOf(reference: string): string {
  let rest = reference;
  const at = rest.indexOf('@');
  if (at >= 0) rest = rest.slice(0, at);
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) rest = rest.slice(0, colon);
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  let registry = 'docker.io';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first === 'index.docker.io' ? 'docker.io' : first;
    parts.shift();
  }
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  return `${registry}/${parts.join('/')}`;
}
