import type { JsonObject, JsonValue } from '../../shared/admission.js';
import { TtlCache } from './cache.js';
import { canonicalJson } from './schema.js';
import { maskKubernetesObject } from './field-mask.js';
import type { GetQuery, KubernetesPort, ListQuery } from './types.js';

/** Kubewarden keeps `get_resource` and `can_i` answers for 5 s (`#[cached(time = 5)]`). */
export const KUBERNETES_CACHE_TTL_MS = 5_000;

const NO_CLIENT =
  'no Kubernetes client is configured: context-aware host capabilities need access to a cluster';

function text(fields: JsonObject, name: string): string | undefined {
  const value = fields[name];
  return typeof value === 'string' ? value : undefined;
}

function masksOf(fields: JsonObject): readonly string[] | undefined {
  const masks = fields['field_masks'];
  return Array.isArray(masks) ? masks.filter((m) => typeof m === 'string') : undefined;
}

function withMaskedItems(list: JsonObject, masks: readonly string[] | undefined): JsonObject {
  const items = list['items'];
  if (masks === undefined || !Array.isArray(items)) return list;
  return { ...list, items: items.map((item) => maskKubernetesObject(item, masks)) };
}

function compact(entries: Record<string, JsonValue | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(entries)) {
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/**
 * Turns the policy's snake_case SubjectAccessReview into the API's `SubjectAccessReviewSpec`
 * (the SDK's `From<SubjectAccessReview>`): absent optionals are left out, not sent as null.
 */
export function subjectAccessReviewSpec(review: JsonObject): JsonObject {
  const attrs = review['resource_attributes'];
  const a: JsonObject =
    typeof attrs === 'object' && attrs !== null && !Array.isArray(attrs) ? attrs : {};
  return compact({
    user: review['user'],
    groups: review['groups'],
    resourceAttributes: compact({
      namespace: a['namespace'],
      verb: a['verb'],
      group: a['group'],
      resource: a['resource'],
      subresource: a['subresource'],
      name: a['name'],
      version: a['version'],
    }),
  });
}

/** The four `kubernetes/*` capabilities over a {@link KubernetesPort}, with Kubewarden's caches. */
export class KubernetesCapabilities {
  readonly #port: KubernetesPort | undefined;
  readonly #gets: TtlCache<JsonObject>;
  readonly #reviews: TtlCache<JsonObject>;

  constructor(port: KubernetesPort | undefined, now: () => number) {
    this.#port = port;
    this.#gets = new TtlCache(KUBERNETES_CACHE_TTL_MS, now);
    this.#reviews = new TtlCache(KUBERNETES_CACHE_TTL_MS, now);
  }

  #client(): KubernetesPort {
    if (this.#port === undefined) throw new Error(NO_CLIENT);
    return this.#port;
  }

  /** `list_resources_by_namespace` (namespace set) and `list_resources_all`; never cached here. */
  async list(fields: JsonObject): Promise<JsonValue> {
    const port = this.#client();
    const namespace = text(fields, 'namespace');
    const labelSelector = text(fields, 'label_selector');
    const fieldSelector = text(fields, 'field_selector');
    const query: ListQuery = {
      apiVersion: text(fields, 'api_version') ?? '',
      kind: text(fields, 'kind') ?? '',
      ...(namespace === undefined ? {} : { namespace }),
      ...(labelSelector === undefined ? {} : { labelSelector }),
      ...(fieldSelector === undefined ? {} : { fieldSelector }),
    };
    return withMaskedItems(await port.list(query), masksOf(fields));
  }

  /** `get_resource`: cached unless `disable_cache`; masks apply to a copy, after the cache. */
  async get(fields: JsonObject): Promise<JsonValue> {
    const port = this.#client();
    const namespace = text(fields, 'namespace');
    const query: GetQuery = {
      apiVersion: text(fields, 'api_version') ?? '',
      kind: text(fields, 'kind') ?? '',
      name: text(fields, 'name') ?? '',
      ...(namespace === undefined ? {} : { namespace }),
    };
    const object =
      fields['disable_cache'] === true
        ? await port.get(query)
        : await this.#gets.get(
            canonicalJson([query.apiVersion, query.kind, query.name, namespace ?? null]),
            () => port.get(query),
          );
    const masks = masksOf(fields);
    return masks === undefined ? object : maskKubernetesObject(object, masks);
  }

  /** `can_i`: a SubjectAccessReview's status, cached by the whole review unless `disable_cache`. */
  async canI(fields: JsonObject): Promise<JsonValue> {
    const port = this.#client();
    const review = fields['request'];
    const spec = subjectAccessReviewSpec(
      typeof review === 'object' && review !== null && !Array.isArray(review) ? review : {},
    );
    if (fields['disable_cache'] === true) return port.canI(spec);
    return this.#reviews.get(canonicalJson(spec), () => port.canI(spec));
  }
}
