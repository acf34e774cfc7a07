/**
 * Kubewarden's `#[cached(time = N, result = true, sync_writes)]` in TypeScript: successful
 * answers are kept for `ttlMs`, failures are never kept, and concurrent callers of the same key
 * share one in-flight request instead of each hitting the API server or registry.
 */
export class TtlCache<T> {
  readonly #entries = new Map<string, { readonly value: Promise<T>; expires: number }>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(ttlMs: number, now: () => number, maxEntries = 10_000) {
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.#maxEntries = maxEntries;
  }

  /** The cached value of `key`, or the result of `load()` (kept only if it resolves). */
  get(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit !== undefined && hit.expires > now) return hit.value;
    if (this.#entries.size >= this.#maxEntries) this.#sweep(now);
    const entry = { value: load(), expires: Number.POSITIVE_INFINITY };
    this.#entries.set(key, entry);
    entry.value.then(
      () => {
        entry.expires = this.#now() + this.#ttlMs;
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    return entry.value;
  }

  get size(): number {
    return this.#entries.size;
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expires <= now) this.#entries.delete(key);
    }
    // Still full of live entries: drop the oldest, a cache must never grow without bound.
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }
}
