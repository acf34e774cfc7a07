import type { JsonObject, JsonValue } from '../../shared/admission.js';
import type { CallbackRequest } from './callback-request.js';

/** One waPC `__host_call` (or WASI `host.call`) as the guest made it. */
export interface HostCallRequest {
  readonly binding: string;
  readonly namespace: string;
  readonly operation: string;
  readonly payload: Uint8Array;
}

/** What goes back to the guest: the response bytes, or an error text it can report. */
export type HostCallResult =
  | { readonly ok: true; readonly payload: Uint8Array }
  | { readonly ok: false; readonly error: string };

/** A Kubernetes resource type a context-aware policy may read. */
export interface ContextAwareResource {
  readonly apiVersion: string;
  readonly kind: string;
}

/** What one policy may reach, fixed at load from its manifest and the policy server's config. */
export interface CapabilityGrant {
  readonly policyId: string;
  readonly contextAwareResources: readonly ContextAwareResource[];
  /** Kubewarden's host-capability patterns: `*`, `oci/*`, `net/v1/dns_lookup_host`, … */
  readonly hostCapabilities: readonly string[];
}

/** Answers host calls for every policy of a server; never throws, never hangs past `deadline`. */
export interface HostCapabilities {
  call(grant: CapabilityGrant, request: HostCallRequest, deadline: number): Promise<HostCallResult>;
}

export interface ListQuery {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface GetQuery {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/**
 * The cluster as host capabilities see it. The engine and runtime never import the Kubernetes
 * client; a composition root injects an implementation of this port.
 */
export interface KubernetesPort {
  /** A Kubernetes List (`{apiVersion, kind, items}`) of the matching objects. */
  list(query: ListQuery): Promise<JsonObject>;
  /** The object, or a rejection naming what was not found. */
  get(query: GetQuery): Promise<JsonObject>;
  /** Creates a SubjectAccessReview and returns its `status`. */
  canI(spec: JsonObject): Promise<JsonObject>;
}

/**
 * Kubewarden's `CallbackHandler`: answers a parsed, already-authorised request with the response
 * bytes, or rejects with a message the guest will see. It sits behind gating and payload parsing,
 * so record and replay can wrap it and see exactly what kwctl's session files hold.
 */
export interface CallbackHandler {
  handle(request: CallbackRequest): Promise<Uint8Array>;
}

export type { CallbackRequest, JsonValue };
