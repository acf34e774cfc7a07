/**
 * The one error type of Palisade. Every failure that crosses a module boundary is a
 * `PalisadeError` with a stable, machine-readable `code`, so callers branch on codes
 * (and users can search for them) instead of parsing messages.
 */

/** Stable error codes. Never rename one: logs, metrics and user scripts depend on them. */
export const ERROR_CODES = {
  /** Configuration (flags, environment, files) failed validation at start-up. */
  config_invalid: 'configuration is invalid',
  /** A policy manifest or policies.yml entry does not match the schema. */
  manifest_invalid: 'policy manifest is invalid',
  /** A CEL expression does not parse or does not type-check. */
  cel_compile_error: 'CEL expression does not compile',
  /** A CEL expression failed while evaluating (missing field, overflow, bad conversion...). */
  cel_evaluation_error: 'CEL evaluation failed',
  /** A CEL expression ran past its time budget and was stopped. */
  cel_timeout: 'CEL evaluation exceeded its time budget',
  /** A policy's settings are rejected by the policy itself. */
  settings_invalid: 'policy settings are invalid',
  /** A policy could not be loaded (unsupported module, unreadable file...). */
  policy_load_failed: 'policy failed to load',
  /** The requested policy id is not known to this server. */
  policy_not_found: 'policy not found',
  /** A request body is not a valid AdmissionReview / AdmissionRequest. */
  request_invalid: 'admission request is invalid',
  /** A policy group expression is invalid or failed to evaluate. */
  group_expression_invalid: 'policy group expression is invalid',
  /** A mutation could not be expressed as a JSON patch or applied. */
  mutation_failed: 'mutation failed',
  /** A WebAssembly policy ran past its evaluation deadline and was stopped. */
  policy_timeout: 'policy evaluation exceeded its time budget',
  /** A WebAssembly policy tried to grow its memory past its cap. */
  policy_memory_limit: 'policy exceeded its memory limit',
  /** A WebAssembly policy trapped (unreachable, out-of-bounds access, stack overflow…). */
  policy_trap: 'policy trapped',
  /** A WebAssembly policy reported an error or answered something that is not a response. */
  policy_evaluation_failed: 'policy evaluation failed',
  /** A WebAssembly module is malformed or needs what Palisade does not provide. */
  module_invalid: 'policy module is invalid',
  /** A test suite file is malformed. */
  test_suite_invalid: 'test suite is invalid',
  /** A call to the Kubernetes API server failed, was refused, or named an unknown kind or object. */
  kubernetes_request_failed: 'Kubernetes API request failed',
  /** A host-capability session file (kwctl record/replay format) is malformed. */
  host_capabilities_session_invalid: 'host-capability session file is invalid',
  /** A module's initial memory is larger than the memory cap. */
  module_memory_limit: 'WebAssembly module needs more memory than allowed',
  /** Policy metadata (metadata.yml or the io.kubewarden.metadata section) does not match the schema. */
  metadata_invalid: 'policy metadata is invalid',
  /** An image reference or module URL is malformed or uses an unsupported scheme. */
  reference_invalid: 'image reference is invalid',
  /** A registry or web server could not be reached (connection refused, timeout, 5xx after retries). */
  registry_unreachable: 'registry is unreachable',
  /** A registry answered with an error (unknown tag, refused credentials, refused push...). */
  registry_request_failed: 'registry request failed',
  /** What a registry served is not a policy artifact: wrong media type, digest mismatch, HTML. */
  artifact_invalid: 'OCI artifact is invalid',
  /** A file could not be read or parsed. */
  file_unreadable: 'file could not be read',
  /** Anything else: a bug in Palisade. */
  internal_error: 'internal error',
  /** A signing or verification key is unreadable, encrypted with another password, or not ECDSA P-256. */
  key_invalid: 'key is invalid',
  /** A cosign signature, its simple-signing payload or its signature manifest is malformed. */
  signature_invalid: 'signature is invalid',
  /** A verification config (Kubewarden's verification.yml) does not match the schema. */
  verification_config_invalid: 'verification config is invalid',
  /** The signatures of an artifact do not satisfy the verification config. */
  verification_failed: 'signature verification failed',
  /** The verification config asks for what Palisade cannot check offline (keyless Fulcio/Rekor signatures). */
  verification_unsupported: 'verification is not supported',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A field-level problem, named by its path in the user's document (`spec.settings.validations[2].expression`). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export interface PalisadeErrorOptions {
  readonly cause?: unknown;
  /** Field-level details, when the error is about a document the user wrote. */
  readonly fields?: readonly FieldError[];
}

export class PalisadeError extends Error {
  override readonly name = 'PalisadeError';
  readonly code: ErrorCode;
  readonly fields: readonly FieldError[];

  constructor(code: ErrorCode, message: string, options: PalisadeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fields = options.fields ?? [];
  }
}

/** True when `e` is a PalisadeError (optionally with the given code). */
export function isPalisadeError(e: unknown, code?: ErrorCode): e is PalisadeError {
  return e instanceof PalisadeError && (code === undefined || e.code === code);
}

/** Formats field errors as `path: message` lines, the shape kubectl users know. */
export function formatFieldErrors(fields: readonly FieldError[]): string {
  return fields.map((f) => `${f.path}: ${f.message}`).join('; ');
}

/** Message of any thrown value, for the places that must turn an unknown throw into text. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
