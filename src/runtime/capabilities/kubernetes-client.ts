import type { KubeConfig } from '@kubernetes/client-node';
import { isJsonObject, type JsonObject, type JsonValue } from '../../shared/admission.js';
import { KubeApiError, createKubeHttp } from '../../shared/kube-http.js';
import type { GetQuery, KubernetesPort, ListQuery } from './types.js';

/** The host capabilities' name for the transport's error (status and reason of the reply). */
export const KubernetesRequestError = KubeApiError;
export type KubernetesRequestError = KubeApiError;

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
interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_PAGE_SIZE = 500;
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
  const http = createKubeHttp(kc);
  const call = (what: string, method: string, path: string, body?: JsonObject) =>
    http.request(method, path, body, { what, timeoutMs });
  const discovery = new Map<string, Promise<readonly ApiResource[]>>();

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
      http.close();
    },
  };
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
