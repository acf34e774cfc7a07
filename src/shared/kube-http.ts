import http from 'node:http';
import https from 'node:https';
import { isJsonObject, type JsonObject } from './admission.js';
import { PalisadeError, errorMessage } from './errors.js';

/**
 * A failed call to the API server. `status` and `reason` come from the HTTP reply or from the
 * `Status` of a watch `ERROR` event (`409 Conflict`, `410 Expired`...), so callers branch on them
 * instead of parsing messages; both are undefined when no reply came back (refused, reset,
 * timed out), which is how a caller tells "the server said no" from "the server is away".
 */
export class KubeApiError extends PalisadeError {
  readonly status: number | undefined;
  readonly reason: string | undefined;

  constructor(message: string, status?: number, reason?: string, cause?: unknown) {
    super('kubernetes_request_failed', message, cause === undefined ? {} : { cause });
    this.status = status;
    this.reason = reason;
  }
}

/** True when `e` is a reply of the API server with that HTTP status. */
export function hasStatus(e: unknown, status: number): boolean {
  return e instanceof KubeApiError && e.status === status;
}

/** Per-request controls of {@link KubeHttp.request}. */
export interface RequestOptions {
  /** Names the request in errors (`list v1 Pod in namespace "a"`); default `METHOD path`. */
  readonly what?: string;
  /** Default JSON; `application/apply-patch+yaml` for server-side apply, merge patch... */
  readonly contentType?: string;
  /** Ends the request early (stop, or a deadline the caller computed). */
  readonly signal?: AbortSignal;
  /** Whole-request deadline; default 30 s, so a hung API server cannot hang a caller. */
  readonly timeoutMs?: number;
}

/** Controls of {@link KubeHttp.stream}: a stream has no overall deadline, only an idle one. */
export interface StreamOptions {
  readonly signal: AbortSignal;
  /**
   * The stream fails when no byte arrives for this long: a peer that vanished without a FIN
   * (partition, killed node) would otherwise leave the watch waiting forever.
   */
  readonly idleTimeoutMs: number;
}

/** Authenticated JSON requests and JSON-lines streams against the kubeconfig's current cluster. */
export interface KubeHttp {
  /** One request; resolves to the parsed 2xx reply, rejects with {@link KubeApiError}. */
  request(
    method: string,
    path: string,
    body?: JsonObject,
    options?: RequestOptions,
  ): Promise<JsonObject>;
  /**
   * A streaming GET (a watch). Resolves once the server answered 200, to the parsed lines; any
   * other status rejects with a {@link KubeApiError} carrying it. The iteration ends when the
   * server ends the response and throws when the connection breaks or goes idle.
   */
  stream(path: string, options: StreamOptions): Promise<AsyncIterable<JsonObject>>;
  /** Releases pooled connections. */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
// Below kube-apiserver's 90 s idle timeout, so a pooled socket is never reused as the server closes it.
const IDLE_SOCKET_MS = 30_000;
// Dead peers on a quiet connection are found by the kernel (libuv sends probes 1 s apart after this).
const TCP_KEEPALIVE_MS = 15_000;

/**
 * Plain `node:https` rather than the generated clients, for the reasons of the host-capability
 * client: objects stay exactly as the server sent them (no typed-model re-encoding), and a watch
 * is a stream this module controls (idle detection, abort). The client library still supplies
 * kubeconfig loading and every authentication method through `applyToHTTPSOptions`, which is
 * called per request so rotated tokens and certificates apply.
 */
/**
 * The part of client-node's KubeConfig used here, taken structurally so shared code never
 * imports the client (the engine may import shared modules).
 */
export interface ClusterAccess {
  getCurrentCluster(): { readonly server: string; readonly proxyUrl?: string | undefined } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

export function createKubeHttp(kubeConfig: ClusterAccess): KubeHttp {
  const agents = new AgentPool();

  async function prepare(path: string): Promise<{ url: string; opts: https.RequestOptions }> {
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster === null) throw new KubeApiError('kubeconfig has no current cluster');
    const opts: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(opts);
    // The library builds a fresh agent per call (no keep-alive); it is kept only for proxies.
    if (cluster.proxyUrl === undefined) opts.agent = agents.for(cluster.server, opts);
    const given = opts.headers;
    opts.headers = {
      ...(given === undefined || isHeaderList(given) ? {} : given),
      Accept: 'application/json',
      'User-Agent': 'palisade',
    };
    return { url: cluster.server.replace(/\/+$/, '') + path, opts };
  }

  return {
    async request(method, path, body, options = {}) {
      const what = options.what ?? `${method} ${path}`;
      const { url, opts } = await prepare(path);
      // AbortSignal.timeout refuses fractional delays.
      const timeout = AbortSignal.timeout(Math.ceil(options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
      const signal =
        options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
      let reply: { status: number; text: string };
      try {
        reply = await send(url, { ...opts, method, signal }, body, options.contentType);
      } catch (e: unknown) {
        throw new KubeApiError(`${what}: ${errorMessage(e)}`, undefined, undefined, e);
      }
      return parseReply(what, reply.status, reply.text);
    },

    async stream(path, options) {
      const what = `GET ${path}`;
      const { url, opts } = await prepare(path);
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = requestFn(url)(
          url,
          { ...opts, method: 'GET', signal: options.signal },
          resolve,
        );
        req.on('socket', (socket) => {
          socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
        });
        req.setTimeout(options.idleTimeoutMs, () => {
          req.destroy(new Error(`no data for ${options.idleTimeoutMs} ms`));
        });
        req.on('error', (e) => {
          reject(new KubeApiError(`${what}: ${errorMessage(e)}`, undefined, undefined, e));
        });
        req.end();
      });
      if (res.statusCode !== 200) {
        const text = await readAll(res).catch(() => '');
        throw replyError(what, res.statusCode ?? 0, text);
      }
      return jsonLines(what, res);
    },

    close() {
      agents.close();
    },
  };
}

async function* jsonLines(what: string, res: http.IncomingMessage): AsyncGenerator<JsonObject> {
  res.setEncoding('utf8');
  let buffered = '';
  try {
    for await (const chunk of res as AsyncIterable<string>) {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line !== '') yield parseLine(what, line);
      }
    }
  } catch (e: unknown) {
    if (e instanceof KubeApiError) throw e;
    throw new KubeApiError(`${what}: ${errorMessage(e)}`, undefined, undefined, e);
  } finally {
    res.destroy();
  }
  if (buffered.trim() !== '') yield parseLine(what, buffered.trim());
}

function parseLine(what: string, line: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (e: unknown) {
    throw new KubeApiError(
      `${what}: stream line is not JSON: ${line.slice(0, 200)}`,
      undefined,
      undefined,
      e,
    );
  }
  if (!isJsonObject(parsed)) {
    throw new KubeApiError(`${what}: stream line is not a JSON object: ${line.slice(0, 200)}`);
  }
  return parsed;
}

function isHeaderList(h: http.OutgoingHttpHeaders | readonly string[]): h is readonly string[] {
  return Array.isArray(h);
}

function requestFn(url: string): typeof https.request {
  return url.startsWith('http:') ? http.request : https.request;
}

function send(
  url: string,
  opts: https.RequestOptions,
  body: JsonObject | undefined,
  contentType = 'application/json',
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = { ...(opts.headers as http.OutgoingHttpHeaders) };
  if (payload !== undefined) {
    headers['Content-Type'] = contentType;
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = requestFn(url)(url, { ...opts, headers }, (res) => {
      readAll(res).then((text) => {
        resolve({ status: res.statusCode ?? 0, text });
      }, reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

function parseReply(what: string, status: number, text: string): JsonObject {
  if (status >= 200 && status < 300) {
    const parsed = safeParse(text);
    if (isJsonObject(parsed)) return parsed;
    throw new KubeApiError(`${what}: ${status} reply is not a JSON object`, status);
  }
  throw replyError(what, status, text);
}

function replyError(what: string, status: number, text: string): KubeApiError {
  const parsed = safeParse(text);
  const reason =
    isJsonObject(parsed) && typeof parsed['reason'] === 'string' ? parsed['reason'] : undefined;
  const message =
    isJsonObject(parsed) && typeof parsed['message'] === 'string'
      ? parsed['message']
      : text.slice(0, 200);
  return new KubeApiError(
    `${what}: ${status}${reason === undefined ? '' : ` ${reason}`}: ${message}`,
    status,
    reason,
  );
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * One keep-alive agent per TLS identity: a lease renewal every two seconds should not pay a
 * handshake each time. A rotated client certificate (new material from the kubeconfig) gets a
 * fresh agent; the old one is destroyed, which ends the watches using it so they reconnect
 * with the new identity.
 */
class AgentPool {
  private key = '';
  private agent: http.Agent | undefined;

  for(server: string, opts: https.RequestOptions): http.Agent {
    const key = JSON.stringify([
      server,
      material(opts.ca),
      material(opts.cert),
      material(opts.key),
      opts.rejectUnauthorized,
      opts.servername,
    ]);
    if (this.agent === undefined || key !== this.key) {
      this.agent?.destroy();
      const common = { keepAlive: true, timeout: IDLE_SOCKET_MS };
      this.agent = server.startsWith('http:')
        ? new http.Agent(common)
        : new https.Agent({ ...common, ...definedTls(opts) });
      this.key = key;
    }
    return this.agent;
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

function definedTls(opts: https.RequestOptions): https.AgentOptions {
  const tls: https.AgentOptions = {};
  if (opts.ca !== undefined) tls.ca = opts.ca;
  if (opts.cert !== undefined) tls.cert = opts.cert;
  if (opts.key !== undefined) tls.key = opts.key;
  if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized;
  if (opts.servername !== undefined) tls.servername = opts.servername;
  return tls;
}

function material(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return JSON.stringify(value);
}
