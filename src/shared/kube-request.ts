import http from 'node:http';
import https from 'node:https';
import { isJsonObject, type JsonObject } from './admission.js';
import { PalisadeError, errorMessage } from './errors.js';

/**
 * Requests to the Kubernetes API over the kubeconfig's cluster and credentials, on plain
 * HTTPS with pooled keep-alive connections. Not through client-node's typed APIs: those
 * re-encode objects through their models and drop fields they do not know (a custom
 * resource's spec, x-kubernetes-preserve-unknown-fields), which a policy engine must keep.
 * Host capabilities and the operator share it; the engine never imports it.
 */

export class KubernetesRequestError extends PalisadeError {
  readonly status: number | undefined;
  readonly reason: string | undefined;

  constructor(message: string, status?: number, reason?: string, cause?: unknown) {
    super('kubernetes_request_failed', message, cause === undefined ? {} : { cause });
    this.status = status;
    this.reason = reason;
  }
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

// Below kube-apiserver's 90 s idle timeout, so a pooled socket is never reused as the server closes it.
const IDLE_SOCKET_MS = 30_000;

/**
 * The part of client-node's KubeConfig used here, structurally, so this module does not
 * import the client (shared code stays importable by the engine).
 */
export interface ClusterAccess {
  getCurrentCluster(): { readonly server: string; readonly proxyUrl?: string | undefined } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

export interface KubeRequester {
  /** One request; `what` names it in errors. Resolves to the parsed 2xx body. */
  call(
    what: string,
    method: string,
    path: string,
    body?: JsonObject,
    contentType?: string,
  ): Promise<JsonObject>;
  /** Releases pooled connections. */
  close(): void;
}

export function createKubeRequester(kc: ClusterAccess, timeoutMs: number): KubeRequester {
  const agents = new AgentPool();
  return {
    async call(what, method, path, body, contentType) {
      const cluster = kc.getCurrentCluster();
      if (cluster === null)
        throw new KubernetesRequestError(`${what}: kubeconfig has no current cluster`);
      const opts: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      // The library's agent is kept only for proxies; its own agents do not keep connections alive.
      const agent = cluster.proxyUrl === undefined ? agents.for(cluster.server, opts) : opts.agent;
      const url = cluster.server.replace(/\/+$/, '') + path;
      let reply: Reply;
      try {
        reply = await send(url, { ...opts, agent, method }, body, timeoutMs, contentType);
      } catch (e: unknown) {
        throw new KubernetesRequestError(`${what}: ${errorMessage(e)}`, undefined, undefined, e);
      }
      return parseReply(what, reply);
    },
    close() {
      agents.close();
    },
  };
}

/**
 * One keep-alive agent per distinct TLS identity: a handshake per host call would dominate the
 * cost of a context-aware policy. A rotated client certificate gets a fresh agent.
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
        : new https.Agent({
            ...common,
            ...definedTls(opts),
          });
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

function send(
  url: string,
  opts: https.RequestOptions,
  body: JsonObject | undefined,
  timeoutMs: number,
  contentType = 'application/json',
): Promise<Reply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  // applyToHTTPSOptions only ever sets the object form (Authorization, Impersonate-User).
  const given = opts.headers;
  const headers: http.OutgoingHttpHeaders = {
    ...(given === undefined || isHeaderList(given) ? {} : given),
    Accept: 'application/json',
    'User-Agent': 'palisade',
  };
  if (payload !== undefined) {
    headers['Content-Type'] = contentType;
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  const request = url.startsWith('http:') ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ...opts, headers, signal: AbortSignal.timeout(timeoutMs) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function isHeaderList(h: http.OutgoingHttpHeaders | readonly string[]): h is readonly string[] {
  return Array.isArray(h);
}

function parseReply(what: string, reply: Reply): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.body);
  } catch {
    parsed = undefined;
  }
  if (reply.status >= 200 && reply.status < 300) {
    if (isJsonObject(parsed)) return parsed;
    throw new KubernetesRequestError(
      `${what}: ${reply.status} reply is not a JSON object`,
      reply.status,
    );
  }
  // A Kubernetes Status carries the reason and the server's own wording ("pods \"x\" not found").
  const reason =
    isJsonObject(parsed) && typeof parsed['reason'] === 'string' ? parsed['reason'] : undefined;
  const message =
    isJsonObject(parsed) && typeof parsed['message'] === 'string'
      ? parsed['message']
      : reply.body.slice(0, 200);
  throw new KubernetesRequestError(
    `${what}: ${reply.status}${reason === undefined ? '' : ` ${reason}`}: ${message}`,
    reply.status,
    reason,
  );
}
