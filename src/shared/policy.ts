import type { AdmissionRequest, JsonValue, StatusCause } from './admission.js';

/**
 * What a policy's own logic decides, in the shape of Kubewarden's guest response
 * (`accepted`, `message`, `code`, `mutated_object`, `warnings`, `audit_annotations`).
 * Everything else about a decision (modes, message override, patches, groups) is the
 * engine's business, so every policy kind returns this and nothing more.
 */
export interface PolicyVerdict {
  readonly accepted: boolean;
  readonly message?: string;
  readonly code?: number;
  /** The whole object after mutation; the engine turns it into a JSON patch. */
  readonly mutatedObject?: JsonValue;
  readonly warnings?: readonly string[];
  readonly auditAnnotations?: Readonly<Record<string, string>>;
  /** Details of a rejection, one per failing part (the members of a policy group). */
  readonly causes?: readonly StatusCause[];
}

/** What the cluster would supply alongside a request; absent when nobody can supply it. */
export interface PolicyContext {
  readonly namespaceObject?: JsonValue;
  readonly params?: JsonValue;
}

export interface ValidationInput {
  readonly request: AdmissionRequest;
  readonly context: PolicyContext;
  /** Milliseconds this evaluation may take before it must be stopped. */
  readonly timeoutMs: number;
  /** For `validate_raw`: the document as sent, which raw WebAssembly policies receive. */
  readonly raw?: JsonValue;
}

/**
 * A loaded policy module: compiled once at load, evaluated many times. Implementations
 * never throw for a policy-level failure they can describe; they throw `PalisadeError`
 * (`cel_timeout`, `cel_evaluation_error`, ...) and the engine turns it into a rejection.
 */
export interface PolicyModule {
  readonly kind: string;
  validate(input: ValidationInput): PolicyVerdict | Promise<PolicyVerdict>;
  /** Frees what loading took (sandbox registrations); absent for modules that hold nothing. */
  close?(): void;
}
