import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { isJsonObject, type JsonValue } from '../../shared/admission.js';
import { errorMessage } from '../../shared/errors.js';

/** Kubewarden's reasons (policy-evaluator `callback_handler/crypto.rs`), verbatim. */
export const CERTIFICATE_USED_AFTER_EXPIRATION =
  'Certificate is being used after its expiration date';
export const CERTIFICATE_USED_BEFORE_VALIDITY =
  'Certificate is being used before its validity date';
export const CERTIFICATE_NOT_TRUSTED_BY_CHAIN =
  'Certificate is not trusted by the provided cert chain';

/** `{trusted, reason}`: reason is `""` when trusted. */
export interface CertificateVerificationResponse {
  readonly trusted: boolean;
  readonly reason: string;
}

/** The trust anchors used when the policy sends no `cert_chain`. */
export type RootCertificates = () => readonly X509Certificate[];

let defaultRoots: readonly X509Certificate[] | undefined;

/**
 * Node's default CA store (Mozilla's bundle, like Kubewarden's `webpki_roots`, plus
 * NODE_EXTRA_CA_CERTS and the system store when Node runs with --use-system-ca). Parsed once.
 */
export const defaultRootCertificates: RootCertificates = () => {
  defaultRoots ??= tls.getCACertificates('default').map((pem) => new X509Certificate(pem));
  return defaultRoots;
};

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Seconds since the epoch at which to check validity: `not_after` when given, else now. */
function verificationTime(notAfter: JsonValue | undefined, now: number): number {
  if (typeof notAfter !== 'string') return Math.floor(now / 1000);
  const ms = RFC3339.test(notAfter) ? Date.parse(notAfter.replace(' ', 'T')) : Number.NaN;
  if (Number.isNaN(ms)) throw new Error('Timestamp not_after is not in RFC3339 format');
  return Math.floor(ms / 1000);
}

function decode(cert: JsonValue | undefined, what: string): X509Certificate {
  if (!isJsonObject(cert) || !Array.isArray(cert['data'])) throw new Error(`${what} is missing`);
  const data = Buffer.from(cert['data'].map((b) => (typeof b === 'number' ? b : 0)));
  try {
    return new X509Certificate(data);
  } catch (e) {
    let problem = `${what} is not valid`;
    if (cert['encoding'] === 'Pem') problem = 'Certificate PEM data is not valid';
    else if (what === 'Certificate') problem = 'Certificate is not a valid end-entity certificate';
    throw new Error(`${problem}: ${errorMessage(e)}`, { cause: e });
  }
}

type TimeProblem = 'expired' | 'not_yet_valid' | undefined;

function timeProblem(cert: X509Certificate, seconds: number): TimeProblem {
  if (seconds > Math.floor(cert.validToDate.getTime() / 1000)) return 'expired';
  if (seconds < Math.floor(cert.validFromDate.getTime() / 1000)) return 'not_yet_valid';
  return undefined;
}

function reasonOf(problem: TimeProblem): string {
  if (problem === 'expired') return CERTIFICATE_USED_AFTER_EXPIRATION;
  if (problem === 'not_yet_valid') return CERTIFICATE_USED_BEFORE_VALIDITY;
  return CERTIFICATE_NOT_TRUSTED_BY_CHAIN;
}

function signedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

const MAX_INTERMEDIATES = 6;

interface Pool {
  readonly anchors: readonly X509Certificate[];
  readonly intermediates: readonly X509Certificate[];
}

/**
 * Path building in webpki's order: a trust anchor that signed `cert` ends the search (anchors'
 * own validity is not checked, as in webpki); otherwise an unused CA intermediate that signed it,
 * valid at `seconds`, is tried recursively. A time problem found on the way is reported in
 * preference to "unknown issuer", which is what webpki's error ranking yields.
 */
function buildPath(
  cert: X509Certificate,
  pool: Pool,
  seconds: number,
  used: readonly X509Certificate[],
): true | TimeProblem {
  if (pool.anchors.some((anchor) => signedBy(cert, anchor))) return true;
  if (used.length >= MAX_INTERMEDIATES) return undefined;
  let found: TimeProblem;
  for (const candidate of pool.intermediates) {
    if (used.includes(candidate) || !candidate.ca || !signedBy(cert, candidate)) continue;
    const problem = timeProblem(candidate, seconds);
    if (problem !== undefined) {
      found ??= problem;
      continue;
    }
    const result = buildPath(candidate, pool, seconds, [...used, candidate]);
    if (result === true) return true;
    found ??= result;
  }
  return found;
}

/**
 * `crypto/v1/is_certificate_trusted`. `request` is the normalised CertificateVerificationRequest
 * (`cert`, `cert_chain`, `not_after`). As in Kubewarden, `not_after` is the instant at which the
 * certificate must be valid (default: now); the last certificate of `cert_chain` is the trust
 * anchor and the others are intermediates; without a chain the default roots are the anchors.
 * Malformed input rejects (the guest gets an error); an untrusted certificate resolves with
 * `trusted: false` and Kubewarden's reason.
 */
export function isCertificateTrusted(
  request: JsonValue,
  now: number,
  roots: RootCertificates = defaultRootCertificates,
): CertificateVerificationResponse {
  if (!isJsonObject(request)) throw new Error('certificate verification request is missing');
  const cert = decode(request['cert'], 'Certificate');
  const seconds = verificationTime(request['not_after'], now);

  const ownProblem = timeProblem(cert, seconds);
  if (ownProblem !== undefined) return { trusted: false, reason: reasonOf(ownProblem) };
  if (cert.ca) return { trusted: false, reason: 'Certificate not trusted: CaUsedAsEndEntity' };

  const chainValue = request['cert_chain'];
  let pool: Pool;
  if (Array.isArray(chainValue)) {
    const chain = chainValue.map((c, i) => decode(c, `cert_chain[${i}]`));
    const anchor = chain.pop();
    pool = { anchors: anchor === undefined ? [] : [anchor], intermediates: chain };
  } else {
    pool = { anchors: roots(), intermediates: [] };
  }

  const result = buildPath(cert, pool, seconds, []);
  return result === true
    ? { trusted: true, reason: '' }
    : { trusted: false, reason: reasonOf(result) };
}
