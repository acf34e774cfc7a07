import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { PolicyLoadState } from '../engine/types.js';
import { isJsonObject, type JsonObject } from '../shared/admission.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * What a policy server says about the policies it was given (its `GET /policies`): the load
 * state per policy id and which ConfigMap version those states are about.
 */
export interface PolicyStateReport {
  readonly states: ReadonlyMap<string, PolicyLoadState>;
  /**
   * `source.resourceVersion`: the ConfigMap version whose policies serve. Absent when the
   * server does not say (then the report is taken as current).
   */
  readonly resourceVersion?: string;
  /** `source.error`: why the latest ConfigMap version is not the one serving. */
  readonly sourceError?: string;
}

/**
 * Reads a policy server's report; undefined when there is none to be had (no pod yet, not
 * ready, unreachable, an unexpected answer): "no report yet", never an error.
 */
export type PolicyStateReader = () => Promise<PolicyStateReport | undefined>;

export interface HttpsStateReaderOptions {
  /** `https://policy-server-<name>.<namespace>.svc/policies` in a cluster. */
  readonly url: string;
  /** PEM bundle the serving certificate must chain to: the operator CA (old and new). */
  readonly caBundle: () => string;
  readonly logger: Logger;
  /** Per request; short, because the reconcile loop waits for it. Default 2 s. */
  readonly timeoutMs?: number;
  /**
   * How the Service name resolves; default DNS. Tests point it at a local `palisade serve`, so
   * the certificate is still checked against the Service's name.
   */
  readonly lookup?: LookupFunction;
}

const DEFAULT_TIMEOUT_MS = 2_000;

/**
 * The real reader: HTTPS to the policy server's Service, trusting only the operator CA. The
 * Service picks one ready pod, so with several replicas this is one pod's view; all replicas
 * follow the same ConfigMap, but a per-pod check (every replica serves the new version,
 * Kubewarden's PolicyUniquelyReachable) is not done here.
 */
export function httpsStateReader(options: HttpsStateReaderOptions): PolicyStateReader {
  return async () => {
    try {
      return parseReport(await getJson(options));
    } catch (e: unknown) {
      options.logger.debug(
        { url: options.url, error: errorMessage(e) },
        'no report from the policy server',
      );
      return undefined;
    }
  };
}

function getJson(options: HttpsStateReaderOptions): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = https.request(
      options.url,
      {
        method: 'GET',
        ca: options.caBundle(),
        headers: { Accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
        ...(options.lookup ? { lookup: options.lookup } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new Error(`HTTP ${String(res.statusCode)}: ${text.slice(0, 200)}`));
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch (e: unknown) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * `{"policies": {id: {state, generation, error?, servingGeneration?}}, "source": {...}}`.
 * Entries that do not have that shape are skipped (no report for them), so a newer server
 * adding fields or states never breaks an older operator.
 */
export function parseReport(body: unknown): PolicyStateReport {
  if (!isJsonObject(body) || !isJsonObject(body['policies'])) {
    throw new Error('the answer has no "policies" object');
  }
  const states = new Map<string, PolicyLoadState>();
  for (const [id, raw] of Object.entries(body['policies'])) {
    const state = loadState(raw);
    if (state !== undefined) states.set(id, state);
  }
  const source: JsonObject = isJsonObject(body['source']) ? body['source'] : {};
  const rv = source['resourceVersion'];
  const error = source['error'];
  return {
    states,
    ...(typeof rv === 'string' && rv !== '' ? { resourceVersion: rv } : {}),
    ...(typeof error === 'string' ? { sourceError: error } : {}),
  };
}

function loadState(raw: unknown): PolicyLoadState | undefined {
  if (!isJsonObject(raw)) return undefined;
  const { state, generation, error, servingGeneration } = raw;
  if ((state !== 'active' && state !== 'failed') || typeof generation !== 'string') {
    return undefined;
  }
  return {
    state,
    generation,
    ...(typeof error === 'string' ? { error } : {}),
    ...(typeof servingGeneration === 'string' ? { servingGeneration } : {}),
  };
}
