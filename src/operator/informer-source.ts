import { isJsonObject, type JsonObject } from '../shared/admission.js';
import { KubeApiError, type KubeHttp } from '../shared/kube-http.js';

/** A resource by group, version and plural; `group` is `''` for the core group (`/api/v1`). */
export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

/** A complete list: every page's items, and the snapshot they were read at. */
export interface ListResult {
  readonly items: readonly JsonObject[];
  /** Where a watch resumes so it misses nothing that happened after the list. */
  readonly resourceVersion: string;
}

/**
 * One line of a watch stream. `type` is `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` (only a newer
 * resourceVersion, no change) or `ERROR` (a `Status`; code 410 means the requested version is
 * gone); it stays a string so an event type added by a future server is ignored, not fatal.
 */
export interface WatchEvent {
  readonly type: string;
  readonly object: JsonObject;
}

/**
 * Where an informer gets its objects. Failures reject or throw {@link KubeApiError}s: with a
 * `status` when the server answered (410 Gone: relist), without one when it could not be
 * reached or the connection broke (resume from the last resourceVersion).
 */
export interface ListWatchSource {
  /** Names the resource in logs. */
  readonly description: string;
  /** A complete, consistent list (every page), as of the returned resourceVersion. */
  list(signal: AbortSignal): Promise<ListResult>;
  /** Opens a watch after `resourceVersion`; the iteration ends when the server ends it. */
  watch(resourceVersion: string, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>>;
}

/** Which objects a {@link createListWatchSource} source lists and watches, and how. */
export interface ListWatchSourceOptions {
  readonly resource: ResourceRef;
  /** One namespace; absent: every namespace, or the cluster for cluster-scoped resources. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Page size of lists, so one huge list never has to sit in the API server's memory. Default 500. */
  readonly pageSize?: number;
  /**
   * How long the server keeps each watch open before ending it cleanly. Default: random in
   * [5, 10) minutes per watch, as client-go, so many clients do not reconnect in lockstep.
   */
  readonly watchTimeoutSeconds?: number;
}

const DEFAULT_PAGE_SIZE = 500;
const LIST_PAGE_TIMEOUT_MS = 60_000;
const MIN_WATCH_TIMEOUT_S = 300;
/** A silent watch is abandoned this long after the server should have ended it. */
const WATCH_IDLE_GRACE_S = 30;

/** A {@link ListWatchSource} over the API server's REST endpoints. */
export function createListWatchSource(
  http: KubeHttp,
  options: ListWatchSourceOptions,
): ListWatchSource {
  const { group, version, plural } = options.resource;
  const root = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const scope =
    options.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(options.namespace)}`;
  const path = `${root}${scope}/${encodeURIComponent(plural)}`;
  const selectors = (params: URLSearchParams) => {
    if (options.labelSelector !== undefined) params.set('labelSelector', options.labelSelector);
    if (options.fieldSelector !== undefined) params.set('fieldSelector', options.fieldSelector);
    return params;
  };
  const description = [
    `${plural}${group === '' ? '' : `.${group}`}/${version}`,
    options.namespace === undefined ? '' : ` in ${options.namespace}`,
    options.labelSelector === undefined ? '' : ` (${options.labelSelector})`,
  ].join('');

  return {
    description,

    async list(signal) {
      const items: JsonObject[] = [];
      let resourceVersion: string | undefined;
      let token: string | undefined;
      do {
        const params = selectors(
          new URLSearchParams({ limit: String(options.pageSize ?? DEFAULT_PAGE_SIZE) }),
        );
        if (token !== undefined) params.set('continue', token);
        const page = await http.request('GET', `${path}?${params.toString()}`, undefined, {
          signal,
          timeoutMs: LIST_PAGE_TIMEOUT_MS,
        });
        const metadata = isJsonObject(page['metadata']) ? page['metadata'] : {};
        // Every page of one list is served from the same snapshot; the first names it.
        if (resourceVersion === undefined && typeof metadata['resourceVersion'] === 'string') {
          resourceVersion = metadata['resourceVersion'];
        }
        items.push(...withTypeMeta(page));
        const next = metadata['continue'];
        token = typeof next === 'string' && next !== '' ? next : undefined;
      } while (token !== undefined);
      if (resourceVersion === undefined) {
        throw new KubeApiError(`list ${description}: the reply has no resourceVersion`);
      }
      return { items, resourceVersion };
    },

    async watch(resourceVersion, signal) {
      const timeoutSeconds =
        options.watchTimeoutSeconds ?? Math.floor(MIN_WATCH_TIMEOUT_S * (1 + Math.random()));
      const params = selectors(
        new URLSearchParams({
          watch: 'true',
          resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(timeoutSeconds),
        }),
      );
      const lines = await http.stream(`${path}?${params.toString()}`, {
        signal,
        idleTimeoutMs: (timeoutSeconds + WATCH_IDLE_GRACE_S) * 1_000,
      });
      return events(lines);
    },
  };
}

async function* events(lines: AsyncIterable<JsonObject>): AsyncGenerator<WatchEvent> {
  for await (const line of lines) {
    const { type, object } = line;
    if (typeof type !== 'string' || !isJsonObject(object)) {
      throw new KubeApiError(`watch: not an event: ${JSON.stringify(line).slice(0, 200)}`);
    }
    yield { type, object };
  }
}

/** List items come without apiVersion and kind; cached objects should look like watched ones. */
function withTypeMeta(page: JsonObject): JsonObject[] {
  const items = Array.isArray(page['items']) ? page['items'] : [];
  const apiVersion = page['apiVersion'];
  const listKind = page['kind'];
  const kind = typeof listKind === 'string' ? listKind.replace(/List$/, '') : undefined;
  const typeMeta: JsonObject = {};
  if (typeof apiVersion === 'string') typeMeta['apiVersion'] = apiVersion;
  if (kind !== undefined) typeMeta['kind'] = kind;
  return items.filter(isJsonObject).map((item) => ({ ...typeMeta, ...item }));
}
