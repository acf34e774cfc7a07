import { isJsonObject, type JsonObject } from '../shared/admission.js';

/** What a cache mutation means for handlers; `old` is the object the cache held before. */
export type CacheChange =
  | { readonly type: 'add'; readonly object: JsonObject }
  | { readonly type: 'update'; readonly object: JsonObject; readonly old: JsonObject }
  | { readonly type: 'delete'; readonly object: JsonObject };

/** The fields of `metadata` the cache relies on; absent ones are undefined. */
export interface ObjectIdentity {
  readonly name: string | undefined;
  readonly namespace: string | undefined;
  readonly uid: string | undefined;
  readonly resourceVersion: string | undefined;
}

/** Reads name, namespace, uid and resourceVersion; empty or non-string fields count as absent. */
export function identityOf(object: JsonObject): ObjectIdentity {
  const metadata = isJsonObject(object['metadata']) ? object['metadata'] : {};
  const text = (k: string) => {
    const v = metadata[k];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  return {
    name: text('name'),
    namespace: text('namespace'),
    uid: text('uid'),
    resourceVersion: text('resourceVersion'),
  };
}

/** client-go's key: `namespace/name`, or `name` for cluster-scoped objects. */
export function cacheKey(name: string, namespace?: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

/**
 * The informer's store: objects by {@link cacheKey}, exactly as the API server sent them. Every
 * mutation answers the changes it made, so the caller can notify handlers after the store is
 * already consistent (a handler that reads the cache sees what it was told about).
 */
export class ObjectCache {
  private readonly objects = new Map<string, JsonObject>();

  get size(): number {
    return this.objects.size;
  }

  get(key: string): JsonObject | undefined {
    return this.objects.get(key);
  }

  values(): JsonObject[] {
    return [...this.objects.values()];
  }

  /**
   * An ADDED or MODIFIED event. The same resourceVersion again changes nothing (a resumed
   * watch may repeat an object); a new uid under a known key is a delete and a re-create, so
   * reconcilers never mistake a new object for an update of the old one.
   */
  upsert(object: JsonObject): CacheChange[] {
    const key = keyOf(object);
    if (key === undefined) return [];
    const old = this.objects.get(key);
    if (old !== undefined && sameVersion(old, object)) return [];
    this.objects.set(key, object);
    if (old === undefined) return [{ type: 'add', object }];
    if (identityOf(old).uid !== identityOf(object).uid) {
      return [
        { type: 'delete', object: old },
        { type: 'add', object },
      ];
    }
    return [{ type: 'update', object, old }];
  }

  /**
   * A DELETED event. An object the cache never held produces nothing: with a label selector,
   * objects that stop matching are reported as deleted even if they never matched here.
   */
  remove(object: JsonObject): CacheChange[] {
    const key = keyOf(object);
    if (key === undefined || !this.objects.has(key)) return [];
    this.objects.delete(key);
    return [{ type: 'delete', object }];
  }

  /**
   * A fresh list replaces the whole content. The answer is the difference, so a relist after
   * a disconnection reports exactly what happened meanwhile: adds for new objects, updates for
   * changed ones, deletes (with the last known state) for vanished ones, nothing for the rest.
   */
  replace(items: readonly JsonObject[]): CacheChange[] {
    const changes: CacheChange[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      if (key === undefined) continue;
      seen.add(key);
      changes.push(...this.upsert(item));
    }
    for (const [key, object] of this.objects) {
      if (seen.has(key)) continue;
      this.objects.delete(key);
      changes.push({ type: 'delete', object });
    }
    return changes;
  }
}

function keyOf(object: JsonObject): string | undefined {
  const { name, namespace } = identityOf(object);
  return name === undefined ? undefined : cacheKey(name, namespace);
}

function sameVersion(a: JsonObject, b: JsonObject): boolean {
  const rv = identityOf(a).resourceVersion;
  return rv !== undefined && rv === identityOf(b).resourceVersion;
}
