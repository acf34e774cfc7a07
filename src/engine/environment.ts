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
  EvaluationEnvironment,
  EvaluationObserver,
  EvaluationRecord,
  ModuleLoader,
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
 * and benchmarks share. Immutable once built: hot reload builds a new environment beside
 * this one and swaps it, so a request always sees one consistent set of policies.
 */
export async function loadEnvironment(
  definitions: readonly PolicyDefinition[],
  options: LoadOptions,
): Promise<EvaluationEnvironment> {
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const policies = new Map<string, LoadedPolicy>();
  const loadErrors = new Map<string, string>();
  const loaded = await Promise.all(
    definitions.map((def) => loadPolicy(def, defaultTimeoutMs, options.modules)),
  );
  for (const [i, def] of definitions.entries()) {
    const policy = loaded[i];
    if (!policy) continue;
    policies.set(def.id, policy);
    if (policy.loadError !== undefined) {
      loadErrors.set(def.id, policy.loadError);
      options.logger.error(
        { policy: def.id, source: def.source },
        `policy failed to load: ${policy.loadError}`,
      );
    } else {
      options.logger.debug({ policy: def.id, source: def.source }, 'policy loaded');
    }
  }
  return new Environment(policies, loadErrors, options);
}

class Environment implements EvaluationEnvironment {
  constructor(
    private readonly policies: ReadonlyMap<string, LoadedPolicy>,
    private readonly errors: ReadonlyMap<string, string>,
    private readonly options: LoadOptions,
  ) {}

  close(): void {
    for (const p of this.policies.values()) p.close();
  }

  policyIds(): readonly string[] {
    return [...this.policies.keys()];
  }

  has(policyId: string): boolean {
    return this.policies.has(policyId);
  }

  loadErrors(): ReadonlyMap<string, string> {
    return this.errors;
  }

  async evaluate(
    policyId: string,
    request: AdmissionRequest,
    origin: RequestOrigin,
    options: EvaluateOptions = {},
  ): Promise<AdmissionResponse> {
    const policy = this.policy(policyId);
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

  async evaluateRaw(policyId: string, request: JsonValue): Promise<AdmissionResponse> {
    const policy = this.policy(policyId);
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

  private policy(policyId: string): LoadedPolicy {
    const policy = this.policies.get(policyId);
    if (!policy)
      throw new PalisadeError(
        'policy_not_found',
        `policy "${policyId}" is not known to this server`,
      );
    return policy;
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
