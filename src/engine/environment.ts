import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  isJsonObject,
  type AdmissionRequest,
  type AdmissionResponse,
  type JsonValue,
} from '../shared/admission.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { PolicyContext } from '../shared/policy.js';
import type { PolicyDefinition } from './definition.js';
import { loadPolicy, type LoadedPolicy } from './loaded-policy.js';
import { applyAdmissionRules, failureResponse, responseFromVerdict } from './response.js';
import type {
  EvaluateOptions,
  EvaluationObserver,
  EvaluationRecord,
  ModuleLoader,
  PolicyLoadState,
  ReloadableEnvironment,
  RequestOrigin,
} from './types.js';

export interface LoadOptions {
  readonly logger: Logger;
  readonly observer?: EvaluationObserver;
  /** Per-evaluation budget for policies without `timeoutEvalSeconds` (Kubewarden: 2 s). */
  readonly defaultTimeoutMs?: number;
  /** Loads modules that are not CEL (the WebAssembly runtime); without it they fail to load. */
  readonly modules?: ModuleLoader;
}

export const DEFAULT_TIMEOUT_MS = 2000;

/**
 * Loads every policy and returns the one evaluation path that validate, audit, the CLI
 * and benchmarks share. The policy set can change while it serves (`apply`, hot reload); a
 * request always sees one consistent version of the policy it asked for.
 */
export async function loadEnvironment(
  definitions: readonly PolicyDefinition[],
  options: LoadOptions,
): Promise<ReloadableEnvironment> {
  const environment = new Environment(options);
  await environment.apply(definitions);
  return environment;
}

/** A served policy, the definition hash it came from, and the evaluations using it now. */
interface Slot {
  readonly policy: LoadedPolicy;
  readonly generation: string;
  inFlight: number;
  retired: boolean;
}

/** Stable enough to tell "changed" from "unchanged": definitions are built deterministically. */
function generationOf(def: PolicyDefinition): string {
  return createHash('sha256').update(JSON.stringify(def)).digest('hex').slice(0, 16);
}

class Environment implements ReloadableEnvironment {
  #slots: ReadonlyMap<string, Slot> = new Map();
  #states: ReadonlyMap<string, PolicyLoadState> = new Map();
  #errors: ReadonlyMap<string, string> = new Map();
  /** One apply at a time: each builds on what the previous one installed. */
  #applying: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LoadOptions) {}

  apply(definitions: readonly PolicyDefinition[]): Promise<ReadonlyMap<string, PolicyLoadState>> {
    const run = this.#applying.then(() => this.#apply(definitions));
    this.#applying = run.catch(() => undefined);
    return run;
  }

  /**
   * Compiles (and warms, through the loaders) only what changed, beside what serves; then
   * swaps the whole map at once. A changed policy that fails keeps its previous version
   * serving; a new one that fails serves its load error (500), as at start-up.
   */
  async #apply(
    definitions: readonly PolicyDefinition[],
  ): Promise<ReadonlyMap<string, PolicyLoadState>> {
    const defaultTimeoutMs = this.options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const current = this.#slots;
    const generations = definitions.map(generationOf);
    const loaded = await Promise.all(
      definitions.map((def, i) =>
        current.get(def.id)?.generation === generations[i]
          ? Promise.resolve(undefined)
          : loadPolicy(def, defaultTimeoutMs, this.options.modules),
      ),
    );
    const slots = new Map<string, Slot>();
    const states = new Map<string, PolicyLoadState>();
    const errors = new Map<string, string>();
    const replaced: Slot[] = [];
    for (const [i, def] of definitions.entries()) {
      const generation = generations[i] ?? '';
      const previous = current.get(def.id);
      const fresh = loaded[i];
      if (fresh === undefined && previous !== undefined) {
        slots.set(def.id, previous);
        const state = this.#states.get(def.id);
        if (state !== undefined) states.set(def.id, state);
        const error = this.#errors.get(def.id);
        if (error !== undefined) errors.set(def.id, error);
        continue;
      }
      if (fresh === undefined) continue;
      if (fresh.loadError === undefined) {
        this.options.logger.debug({ policy: def.id, source: def.source }, 'policy loaded');
        slots.set(def.id, { policy: fresh, generation, inFlight: 0, retired: false });
        states.set(def.id, { state: 'active', generation });
        if (previous !== undefined) replaced.push(previous);
        continue;
      }
      this.options.logger.error(
        { policy: def.id, source: def.source },
        `policy failed to load: ${fresh.loadError}`,
      );
      const keep = previous !== undefined && previous.policy.loadError === undefined;
      if (keep) {
        fresh.close();
        slots.set(def.id, previous);
        states.set(def.id, {
          state: 'failed',
          generation,
          error: fresh.loadError,
          servingGeneration: previous.generation,
        });
      } else {
        slots.set(def.id, { policy: fresh, generation, inFlight: 0, retired: false });
        states.set(def.id, { state: 'failed', generation, error: fresh.loadError });
        errors.set(def.id, fresh.loadError);
        if (previous !== undefined) replaced.push(previous);
      }
    }
    for (const [id, slot] of current) if (!slots.has(id)) replaced.push(slot);
    this.#slots = slots;
    this.#states = states;
    this.#errors = errors;
    for (const slot of replaced) this.#retire(slot);
    return states;
  }

  /** Closes a replaced policy once the evaluations that started on it have finished. */
  #retire(slot: Slot): void {
    slot.retired = true;
    if (slot.inFlight === 0) slot.policy.close();
  }

  loadStates(): ReadonlyMap<string, PolicyLoadState> {
    return this.#states;
  }

  close(): void {
    for (const slot of this.#slots.values()) this.#retire(slot);
    this.#slots = new Map();
  }

  policyIds(): readonly string[] {
    return [...this.#slots.keys()];
  }

  has(policyId: string): boolean {
    return this.#slots.has(policyId);
  }

  loadErrors(): ReadonlyMap<string, string> {
    return this.#errors;
  }

  /** Runs `fn` on the policy's current version, keeping that version open until it returns. */
  async #using<T>(policyId: string, fn: (policy: LoadedPolicy) => Promise<T>): Promise<T> {
    const slot = this.#slots.get(policyId);
    if (!slot)
      throw new PalisadeError(
        'policy_not_found',
        `policy "${policyId}" is not known to this server`,
      );
    slot.inFlight++;
    try {
      return await fn(slot.policy);
    } finally {
      slot.inFlight--;
      if (slot.retired && slot.inFlight === 0) slot.policy.close();
    }
  }

  evaluate(
    policyId: string,
    request: AdmissionRequest,
    origin: RequestOrigin,
    options: EvaluateOptions = {},
  ): Promise<AdmissionResponse> {
    return this.#using(policyId, (policy) =>
      this.#evaluate(policyId, policy, request, origin, options),
    );
  }

  async #evaluate(
    policyId: string,
    policy: LoadedPolicy,
    request: AdmissionRequest,
    origin: RequestOrigin,
    options: EvaluateOptions,
  ): Promise<AdmissionResponse> {
    const started = performance.now();
    const context: PolicyContext = options.context ?? {};
    let raw: AdmissionResponse;
    let errorCode: number | undefined;
    try {
      if (
        options.matchRequest === true &&
        policy.matcher &&
        !policy.matcher.matches(request, context.namespaceObject, policy.timeoutMs)
      ) {
        raw = { uid: request.uid, allowed: true };
      } else {
        raw = responseFromVerdict(request, await policy.verdict(request, context));
      }
    } catch (e) {
      raw = failureResponse(request.uid, failureMessage(policyId, e));
      errorCode = 500;
      this.options.logger.warn(
        { policy: policyId, uid: request.uid, code: codeOf(e) },
        raw.status?.message ?? 'policy failed',
      );
    }
    const response = origin === 'validate' ? applyAdmissionRules(raw, policy, request) : raw;
    this.observe({
      policyId,
      policyMode: policy.mode,
      resourceKind: request.kind.kind,
      resourceNamespace: request.namespace ?? '',
      resourceRequestOperation: request.operation,
      accepted: raw.allowed,
      mutated: response.patch !== undefined,
      requestOrigin: origin,
      ...(errorCode !== undefined || !raw.allowed
        ? { errorCode: errorCode ?? raw.status?.code ?? 400 }
        : {}),
      durationMs: performance.now() - started,
    });
    return response;
  }

  evaluateRaw(policyId: string, request: JsonValue): Promise<AdmissionResponse> {
    return this.#using(policyId, (policy) => this.#evaluateRaw(policyId, policy, request));
  }

  async #evaluateRaw(
    policyId: string,
    policy: LoadedPolicy,
    request: JsonValue,
  ): Promise<AdmissionResponse> {
    const started = performance.now();
    const uid = isJsonObject(request) && typeof request.uid === 'string' ? request.uid : '';
    const admission = rawAsAdmission(uid, request);
    let response: AdmissionResponse;
    try {
      response = responseFromVerdict(admission, await policy.verdict(admission, {}, request));
    } catch (e) {
      response = failureResponse(uid, failureMessage(policyId, e));
    }
    this.observe({
      policyId,
      policyMode: policy.mode,
      resourceKind: '',
      resourceNamespace: '',
      resourceRequestOperation: '',
      accepted: response.allowed,
      mutated: response.patch !== undefined,
      requestOrigin: 'validate_raw',
      ...(!response.allowed ? { errorCode: response.status?.code ?? 400 } : {}),
      durationMs: performance.now() - started,
    });
    return response;
  }

  private observe(record: EvaluationRecord): void {
    this.options.observer?.(record);
  }
}

function failureMessage(policyId: string, e: unknown): string {
  if (e instanceof PalisadeError && e.code === 'cel_timeout') {
    return `Policy ${policyId} execution interrupted because it exceeded the allowed execution time: ${e.message}`;
  }
  if (e instanceof PalisadeError && e.code === 'policy_load_failed')
    return `Policy ${policyId} failed to load: ${e.message}`;
  return `Policy ${policyId} failed: ${errorMessage(e)}`;
}

function codeOf(e: unknown): string {
  return e instanceof PalisadeError ? e.code : 'internal_error';
}

/** Raw policies see the document as `request` and, when it has one, its `object`. */
function rawAsAdmission(uid: string, request: JsonValue): AdmissionRequest {
  const object = isJsonObject(request) ? request.object : undefined;
  return {
    uid,
    kind: { group: '', version: '', kind: '' },
    resource: { group: '', version: '', resource: '' },
    operation: 'CREATE',
    userInfo: {},
    ...(object !== undefined ? { object } : { object: request }),
  };
}
