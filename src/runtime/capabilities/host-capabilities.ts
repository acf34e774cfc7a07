import type { JsonValue } from '../../shared/admission.js';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { KNOWN_NAMESPACES, PAYLOAD_PARSERS, type CallbackRequest } from './callback-request.js';
import {
  capabilityDeniedMessage,
  isCapabilityAllowed,
  isResourceAllowed,
  resourceDeniedMessage,
} from './grant.js';
import { createCallbackHandler, type CallbackHandlerOptions } from './handler.js';
import { tracingLog } from './tracing-log.js';
import type {
  CallbackHandler,
  CapabilityGrant,
  HostCallRequest,
  HostCallResult,
  HostCapabilities,
} from './types.js';

export interface HostCapabilitiesOptions extends CallbackHandlerOptions {
  readonly logger: Logger;
  /**
   * What answers authorised, parsed calls. Default: {@link createCallbackHandler} over the other
   * options; record and replay put their own here.
   */
  readonly handler?: CallbackHandler;
}

const EMPTY = new Uint8Array(0);
const MAX_TIMER_MS = 2 ** 31 - 1;
const RESOURCE_CHECKED = new Set([
  'KubernetesListResourceNamespace',
  'KubernetesListResourceAll',
  'KubernetesGetResource',
]);

function fail(error: string): HostCallResult {
  return { ok: false, error };
}

function decodeJson(payload: Uint8Array): JsonValue {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  return JSON.parse(text) as JsonValue;
}

/**
 * Runs `work` until `deadline` (wall-clock epoch ms, the sandbox's clock: never the injectable
 * cache clock); past it, answers a timeout error.
 */
async function withDeadline(
  work: () => Promise<Uint8Array>,
  deadline: number,
  path: string,
): Promise<HostCallResult> {
  const remaining = Math.max(0, Math.floor(deadline - Date.now()));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HostCallResult>((resolve) => {
    // setTimeout fires after 1 ms for delays past 2^31-1 (or NaN): treat those as no deadline.
    if (!(remaining <= MAX_TIMER_MS)) return;
    timer = setTimeout(() => {
      resolve(fail(`host capability '${path}' timed out: no answer within ${remaining} ms`));
    }, remaining);
  });
  const answered = Promise.resolve()
    .then(work)
    .then(
      (payload): HostCallResult => ({ ok: true, payload }),
      (e: unknown): HostCallResult => fail(`Callback evaluation failure: ${errorMessage(e)}`),
    );
  try {
    return await Promise.race([answered, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The dispatcher behind waPC `__host_call` and WASI `host.call`, in Kubewarden's order
 * (`runtimes/callback.rs`): binding `kubewarden`; `tracing/*` is never gated; every other
 * `<namespace>/<operation>` must match the grant's patterns *before* the namespace is even looked
 * up; then the payload is parsed; list/get also need the type in `contextAwareResources`; then
 * the handler answers within the deadline. Every failure is an error result: this never throws
 * and never waits past `deadline`, because a guest blocks synchronously on the answer.
 */
export function createHostCapabilities(options: HostCapabilitiesOptions): HostCapabilities {
  const { logger } = options;
  const handler = options.handler ?? createCallbackHandler(options);

  function authorise(
    grant: CapabilityGrant,
    path: string,
    request: CallbackRequest,
  ): string | undefined {
    if (!RESOURCE_CHECKED.has(request.type)) return undefined;
    const { api_version: apiVersion, kind } = request.fields;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') return 'invalid request';
    if (isResourceAllowed(grant, apiVersion, kind)) return undefined;
    logger.error(
      {
        policy: grant.policyId,
        capability: path,
        resource_requested: `${apiVersion}/${kind}`,
        resources_allowed: grant.contextAwareResources.map((r) => `${r.apiVersion}/${r.kind}`),
      },
      "Policy tried to access a Kubernetes resource it doesn't have access to",
    );
    return resourceDeniedMessage(apiVersion, kind);
  }

  function dispatch(
    grant: CapabilityGrant,
    call: HostCallRequest,
    deadline: number,
  ): Promise<HostCallResult> | HostCallResult {
    const { binding, namespace, operation } = call;
    if (binding !== 'kubewarden') return fail(`unknown binding: ${binding}`);
    const path = `${namespace}/${operation}`;
    if (namespace === 'tracing') {
      if (operation !== 'log') return fail(`unknown operation: ${operation}`);
      tracingLog(logger, grant.policyId, call.payload);
      return { ok: true, payload: EMPTY };
    }
    if (!isCapabilityAllowed(grant, path)) {
      logger.error(
        { policy: grant.policyId, capability: path, allowed_capabilities: grant.hostCapabilities },
        "Policy tried to use a host capability it doesn't have access to",
      );
      return fail(capabilityDeniedMessage(path));
    }
    if (!KNOWN_NAMESPACES.has(namespace)) return fail(`unknown namespace: ${namespace}`);
    const parse = Object.hasOwn(PAYLOAD_PARSERS, path) ? PAYLOAD_PARSERS[path] : undefined;
    if (parse === undefined) return fail(`unknown operation: ${operation}`);
    let request: CallbackRequest;
    try {
      request = parse(decodeJson(call.payload));
    } catch (e) {
      return fail(`invalid payload for ${path}: ${errorMessage(e)}`);
    }
    const denied = authorise(grant, path, request);
    if (denied !== undefined) return fail(denied);
    logger.debug({ policy: grant.policyId, capability: path }, 'host capability call');
    return withDeadline(() => handler.handle(request), deadline, path);
  }

  return {
    async call(grant, call, deadline) {
      try {
        return await dispatch(grant, call, deadline);
      } catch (e) {
        logger.error(
          { policy: grant.policyId, error: errorMessage(e) },
          'host capability dispatcher failed',
        );
        return fail(`host capability failed: ${errorMessage(e)}`);
      }
    },
  };
}
