import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { isJsonObject, type JsonObject, type JsonValue } from '../../shared/admission.js';
import { PalisadeError, errorMessage } from '../../shared/errors.js';
import type { GetQuery, KubernetesPort, ListQuery } from './types.js';

export interface KubernetesPortOptions {
  /** Cluster, credentials and TLS material; re-read on every request so rotated tokens apply. */
  readonly kubeConfig: KubeConfig;
  /** Whole-request deadline. Host calls have their own deadline; this bounds a hung API server. */
  readonly timeoutMs?: number;
  /** Page size of list requests, so one huge list never has to sit in the API server's memory. */
  readonly pageSize?: number;
}

/** A {@link KubernetesPort} that owns pooled connections; `close()` releases them at shutdown. */
export interface KubernetesClientPort extends KubernetesPort {
  close(): void;
}

/**
 * A failed call to the API server. `status` and `reason` come from the HTTP reply and its
 * `Status` body (`NotFound`, `Forbidden`...), so callers can tell "absent" from "broken" without
 * parsing the message; both are undefined when no reply came back.
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

interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_PAGE_SIZE = 500;
// Below kube-apiserver's 90 s idle timeout, so a pooled socket is never reused as the server closes it.
const IDLE_SOCKET_MS = 30_000;
const API_VERSION = /^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;

/**
 * Reads the cluster for host capabilities with plain HTTP requests rather than the generated
 * clients: those decode replies into typed models (dates become `Date`, fields unknown to the
 * model are dropped), while policies must see objects exactly as the API server stores them.
 * The client library still supplies what is hard to get right: kubeconfig loading and every
 * authentication method (client certificates, tokens, token files, exec plugins).
 */
export function createKubernetesPort(options: KubernetesPortOptions): KubernetesClientPort {
  const kc = options.kubeConfig;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const agents = new AgentPool();
  const discovery = new Map<string, Promise<readonly ApiResource[]>>();

  async function call(what: string, method: string, path: string, body?: JsonObject) {
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
      reply = await send(url, { ...opts, agent, method }, body, timeoutMs);
    } catch (e: unknown) {
      throw new KubernetesRequestError(`${what}: ${errorMessage(e)}`, undefined, undefined, e);
    }
    return parseReply(what, reply);
  }

  function resourcesOf(apiVersion: string, refresh: boolean): Promise<readonly ApiResource[]> {
    const cached = discovery.get(apiVersion);
    if (cached !== undefined && !refresh) return cached;
    const loading = call(`discover ${apiVersion}`, 'GET', versionPath(apiVersion)).then(
      apiResources,
    );
    discovery.set(apiVersion, loading);
    // A failure is not cached (the group may appear later), unless a newer lookup replaced it.
    loading.catch(() => {
      if (discovery.get(apiVersion) === loading) discovery.delete(apiVersion);
    });
    return loading;
  }

  /** Kinds are found in cached discovery; a miss refetches once, for a CRD installed since. */
  async function resolve(apiVersion: string, kind: string): Promise<ApiResource> {
    if (!API_VERSION.test(apiVersion)) {
      throw new KubernetesRequestError(`invalid apiVersion ${JSON.stringify(apiVersion)}`);
    }
    const find = (list: readonly ApiResource[]) => list.find((r) => r.kind === kind);
    const found =
      find(await resourcesOf(apiVersion, false)) ?? find(await resourcesOf(apiVersion, true));
    if (found === undefined) {
      throw new KubernetesRequestError(`${apiVersion} ${kind}: the API server serves no such kind`);
    }
    return found;
  }

  return {
    async list(query: ListQuery): Promise<JsonObject> {
      const resource = await resolve(query.apiVersion, query.kind);
      const namespace = query.namespace === '' ? undefined : query.namespace;
      const what = `list ${query.apiVersion} ${query.kind}${inNamespace(namespace)}`;
      if (namespace !== undefined && !resource.namespaced) {
        throw new KubernetesRequestError(`${what}: ${query.kind} is cluster-scoped`);
      }
      const path = collectionPath(query.apiVersion, resource, namespace);
      const items: JsonValue[] = [];
      let first: JsonObject | undefined;
      let token: string | undefined;
      do {
        const params = new URLSearchParams({ limit: String(pageSize) });
        if (query.labelSelector !== undefined) params.set('labelSelector', query.labelSelector);
        if (query.fieldSelector !== undefined) params.set('fieldSelector', query.fieldSelector);
        if (token !== undefined) params.set('continue', token);
        const page = await call(what, 'GET', `${path}?${params.toString()}`);
        first ??= page;
        items.push(...withTypeMeta(page['items'], query));
        const metadata = page['metadata'];
        const next = isJsonObject(metadata) ? metadata['continue'] : undefined;
        token = typeof next === 'string' && next !== '' ? next : undefined;
      } while (token !== undefined);
      const metadata = first['metadata'];
      const resourceVersion = isJsonObject(metadata) ? metadata['resourceVersion'] : undefined;
      return {
        apiVersion: first['apiVersion'] ?? query.apiVersion,
        kind: first['kind'] ?? `${query.kind}List`,
        metadata: typeof resourceVersion === 'string' ? { resourceVersion } : {},
        items,
      };
    },

    async get(query: GetQuery): Promise<JsonObject> {
      const resource = await resolve(query.apiVersion, query.kind);
      const namespace = query.namespace === '' ? undefined : query.namespace;
      const what = `get ${query.apiVersion} ${query.kind} ${JSON.stringify(query.name)}${inNamespace(namespace)}`;
      if (resource.namespaced && namespace === undefined) {
        throw new KubernetesRequestError(
          `${what}: ${query.kind} is namespaced, a namespace is needed`,
        );
      }
      if (!resource.namespaced && namespace !== undefined) {
        throw new KubernetesRequestError(`${what}: ${query.kind} is cluster-scoped`);
      }
      const path = `${collectionPath(query.apiVersion, resource, namespace)}/${segment(query.name)}`;
      return call(what, 'GET', path);
    },

    async canI(spec: JsonObject): Promise<JsonObject> {
      const what = 'create SubjectAccessReview';
      const review = await call(
        what,
        'POST',
        '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec,
        },
      );
      const status = review['status'];
      if (!isJsonObject(status)) throw new KubernetesRequestError(`${what}: reply has no status`);
      return status;
    },

    close(): void {
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
    headers['Content-Type'] = 'application/json';
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

function apiResources(list: JsonObject): readonly ApiResource[] {
  const resources = list['resources'];
  if (!Array.isArray(resources)) return [];
  const out: ApiResource[] = [];
  for (const r of resources) {
    if (!isJsonObject(r)) continue;
    const { name, kind, namespaced } = r;
    // Subresources (pods/status) share their parent's kind; only the parent has a collection.
    if (typeof name !== 'string' || name.includes('/') || typeof kind !== 'string') continue;
    out.push({ name, kind, namespaced: namespaced === true });
  }
  return out;
}

/** List items come without apiVersion/kind; a policy inspecting one item should not have to guess. */
function withTypeMeta(items: JsonValue | undefined, query: ListQuery): JsonValue[] {
  if (!Array.isArray(items)) return [];
  return items.map((item) =>
    isJsonObject(item) ? { apiVersion: query.apiVersion, kind: query.kind, ...item } : item,
  );
}

function versionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

function collectionPath(apiVersion: string, resource: ApiResource, namespace?: string): string {
  const ns = namespace === undefined ? '' : `/namespaces/${segment(namespace)}`;
  return `${versionPath(apiVersion)}${ns}/${resource.name}`;
}

/**
 * Names come from policies, so they must not steer the request elsewhere: the API server's own
 * rule for names in paths (no `.`/`..`, no `/` or `%`) rejects anything that could.
 */
function segment(name: string): string {
  if (name === '' || name === '.' || name === '..' || /[/%]/.test(name)) {
    throw new KubernetesRequestError(`invalid name ${JSON.stringify(name)}`);
  }
  return encodeURIComponent(name);
}

function inNamespace(namespace: string | undefined): string {
  return namespace === undefined ? '' : ` in namespace ${JSON.stringify(namespace)}`;
}
