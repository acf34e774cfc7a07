import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  isJsonObject,
  reviewOf,
  type AdmissionRequest,
  type AdmissionResponse,
  type JsonValue,
} from '../shared/admission.js';
import { parseAdmissionRequest } from '../shared/admission-parse.js';
import { errorMessage, isPalisadeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { EvaluationEnvironment } from '../engine/types.js';
import { HttpError, errorBody, isJsonContentType, readBody, sendJson } from './http-io.js';

/** The three POST routes that evaluate a policy. */
export type AdmissionRouteKind = 'validate' | 'audit' | 'validate_raw';

export interface AdmissionRoute {
  readonly kind: AdmissionRouteKind;
  readonly policyId: string;
}

const PREFIXES: readonly (readonly [string, AdmissionRouteKind])[] = [
  ['/validate/', 'validate'],
  ['/audit/', 'audit'],
  ['/validate_raw/', 'validate_raw'],
];

/**
 * Recognises `/validate/:id`, `/audit/:id` and `/validate_raw/:id` (with or without a query:
 * the API server appends `?timeout=10s` to webhook URLs). Anything else, including an
 * empty id or one with a `/`, is not an admission route and goes to the fallback router.
 * A percent-encoded id is decoded; a malformed encoding is a 400.
 */
export function parseAdmissionRoute(url: string): AdmissionRoute | undefined {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  for (const [prefix, kind] of PREFIXES) {
    if (!path.startsWith(prefix)) continue;
    const raw = path.slice(prefix.length);
    if (raw === '' || raw.includes('/')) return undefined;
    return { kind, policyId: raw.includes('%') ? decodeId(raw) : raw };
  }
  return undefined;
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `policy id "${raw}" is not valid percent-encoding`);
  }
}

export interface AdmissionHandlerDeps {
  readonly environment: EvaluationEnvironment;
  readonly logger: Logger;
  readonly bodyLimitBytes: number;
  /** True once the server is shutting down: answers then ask the client to reconnect elsewhere. */
  readonly draining: () => boolean;
}

export type AdmissionHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  route: AdmissionRoute,
) => Promise<void>;

/**
 * The admission fast path, on bare `node:http(s)` objects rather than express: one body
 * read into Buffers, one `JSON.parse`, the engine, one `JSON.stringify`, one write.
 * Express 5 with `express.json()` measured ~0.3 of a bare node:https server on this path
 * (perf.md §2: ~140 µs of extra CPU per request); see docs/benchmarks.md for ours.
 * Never rejects: every failure becomes a JSON answer (4xx for the client's fault, 500 for ours).
 */
export function createAdmissionHandler(deps: AdmissionHandlerDeps): AdmissionHandler {
  return async (req, res, route) => {
    try {
      const body = await evaluateRoute(deps, req, route);
      sendJson(res, 200, body, deps.draining());
    } catch (e: unknown) {
      answerFailure(deps, res, route, e);
    }
  };
}

async function evaluateRoute(
  deps: AdmissionHandlerDeps,
  req: IncomingMessage,
  route: AdmissionRoute,
): Promise<string> {
  const { environment } = deps;
  if (!environment.has(route.policyId)) {
    throw new HttpError(404, `policy "${route.policyId}" is not known to this server`);
  }
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new HttpError(
      415,
      `content-type must be application/json, got ${req.headers['content-type'] ?? 'none'}`,
    );
  }
  const document = parseJson(await readBody(req, deps.bodyLimitBytes));
  if (route.kind === 'validate_raw') {
    const response = await environment.evaluateRaw(route.policyId, rawRequestOf(document));
    return JSON.stringify({ response });
  }
  const request = admissionRequestOf(document);
  const response: AdmissionResponse = await environment.evaluate(
    route.policyId,
    request,
    route.kind,
  );
  return JSON.stringify(reviewOf(response));
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (e: unknown) {
    throw new HttpError(400, `request body is not valid JSON: ${errorMessage(e)}`);
  }
}

function rawRequestOf(document: unknown): JsonValue {
  if (!isJsonObject(document) || !('request' in document)) {
    throw new HttpError(400, 'request body must be a JSON object with a "request" field');
  }
  return document.request ?? null;
}

/**
 * The AdmissionRequest of a review body, checked by the shared parser; a malformed one is the
 * client's 400 naming the field, not a TypeError and a 500.
 */
export function admissionRequestOf(document: unknown): AdmissionRequest {
  try {
    return parseAdmissionRequest(document, 'request body', { requireReview: true });
  } catch (e: unknown) {
    if (isPalisadeError(e, 'request_invalid')) throw new HttpError(400, e.message);
    throw e;
  }
}

function answerFailure(
  deps: AdmissionHandlerDeps,
  res: ServerResponse,
  route: AdmissionRoute,
  e: unknown,
): void {
  const { status, message, close } = classify(e);
  const fields = { policy: route.policyId, route: route.kind, status };
  if (status >= 500)
    deps.logger.error({ ...fields, err: e }, `admission request failed: ${message}`);
  else deps.logger.warn(fields, `admission request refused: ${message}`);
  sendJson(res, status, errorBody(status, message), close || deps.draining());
}

function classify(e: unknown): { status: number; message: string; close: boolean } {
  if (e instanceof HttpError)
    return { status: e.status, message: e.message, close: e.closeConnection };
  if (isPalisadeError(e, 'policy_not_found'))
    return { status: 404, message: e.message, close: false };
  if (isPalisadeError(e, 'request_invalid'))
    return { status: 400, message: e.message, close: false };
  // Kubewarden's wording: details go to the log, not to whoever sent the request.
  return { status: 500, message: 'Something went wrong', close: false };
}
