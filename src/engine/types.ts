import type { AdmissionRequest, AdmissionResponse, JsonValue } from '../shared/admission.js';
import type { PolicyContext, PolicyModule } from '../shared/policy.js';
import type { PolicyDefinition } from './definition.js';

/** Why a request is evaluated: admission (`validate`) gets modes and message overrides applied; `audit` gets the raw verdict. */
export type RequestOrigin = 'validate' | 'audit';

export type PolicyMode = 'protect' | 'monitor';

/** One evaluation, as metrics and logs see it (Kubewarden's metric labels). */
export interface EvaluationRecord {
  readonly policyId: string;
  readonly policyMode: PolicyMode;
  readonly resourceKind: string;
  readonly resourceNamespace: string;
  readonly resourceRequestOperation: string;
  readonly accepted: boolean;
  readonly mutated: boolean;
  readonly requestOrigin: RequestOrigin | 'validate_raw';
  /** HTTP status code of a rejection or failure, when there is one. */
  readonly errorCode?: number;
  readonly durationMs: number;
}

export interface EvaluateOptions {
  /** What the cluster would supply (namespace object, params); absent on the admission path today. */
  readonly context?: PolicyContext;
  /**
   * Check the policy's rules, namespaceSelector, objectSelector and matchConditions before
   * evaluating. The API server does this for webhooks; the CLI and audits must do it themselves.
   */
  readonly matchRequest?: boolean;
}

/**
 * A module the engine cannot compile itself (WebAssembly), handed to the runtime that the
 * composition root injects. The engine knows it only through this shape.
 */
export interface ModuleRequest {
  /** The policy id, or `<group id>/<member>` for a group member. */
  readonly policyId: string;
  readonly module: string;
  readonly settings: JsonValue | undefined;
  readonly settingsPath: string;
  /** The file the policy was declared in; relative `file://` modules resolve against its folder. */
  readonly source: string;
  readonly allowedToMutate: boolean;
  readonly contextAwareResources: readonly { readonly apiVersion: string; readonly kind: string }[];
  readonly hostCapabilities: readonly string[];
  readonly executionMode?: string;
  readonly timeoutMs: number;
}

/** Loads one module; rejects with `PalisadeError` (`policy_load_failed`, `settings_invalid`, …). */
export type ModuleLoader = (request: ModuleRequest) => Promise<PolicyModule>;

/** Receives every evaluation; the policy server counts them in Prometheus. */
export type EvaluationObserver = (record: EvaluationRecord) => void;

/** Where one policy stands after the last `apply`. */
export interface PolicyLoadState {
  /** `active`: the configured version serves. `failed`: it did not load (see `error`). */
  readonly state: 'active' | 'failed';
  /** Hash of the configured definition: tells which version a status is about. */
  readonly generation: string;
  readonly error?: string;
  /**
   * When a changed policy failed to load but an earlier version loaded: that version's
   * generation, which keeps serving. Absent when nothing serves but the load error.
   */
  readonly servingGeneration?: string;
}

export interface EvaluationEnvironment {
  /** Ids of every configured policy, loaded or not. */
  policyIds(): readonly string[];
  has(policyId: string): boolean;
  /** Load errors by policy id; a policy listed here rejects every request with code 500. */
  loadErrors(): ReadonlyMap<string, string>;
  /**
   * Evaluates one policy. Never rejects for a policy-level failure (load error, timeout,
   * evaluation error): those become `allowed: false` responses with code 500. Throws
   * `policy_not_found` for an unknown id.
   */
  evaluate(
    policyId: string,
    request: AdmissionRequest,
    origin: RequestOrigin,
    options?: EvaluateOptions,
  ): Promise<AdmissionResponse>;
  /** Kubewarden's `validate_raw`: `request` is any JSON document, no admission semantics. */
  evaluateRaw(policyId: string, request: JsonValue): Promise<AdmissionResponse>;
  /** Releases the policies' sandbox registrations; call once the environment is replaced. */
  close(): void;
}

/**
 * An environment whose policy set changes while it serves (hot reload). `apply` compiles and
 * warms what changed beside what serves, then swaps it in at once; unchanged policies are
 * kept as they are, and a changed policy that fails to load keeps its previous version.
 */
export interface ReloadableEnvironment extends EvaluationEnvironment {
  apply(definitions: readonly PolicyDefinition[]): Promise<ReadonlyMap<string, PolicyLoadState>>;
  loadStates(): ReadonlyMap<string, PolicyLoadState>;
}
