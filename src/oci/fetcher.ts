import { PalisadeError, errorMessage, isPalisadeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { parsePolicyManifest } from './artifact.js';
import type { RegistryClient } from './client.js';
import {
  formatImageReference,
  registryUrl,
  type ImageReference,
  type ModuleSource,
} from './reference.js';
import type { ModuleStore, StoredReference } from './store.js';

/** The store key of a remote module: its canonical `registry://…` text, or the URL. */
export function referenceKey(source: Exclude<ModuleSource, { kind: 'file' }>): string {
  return source.kind === 'registry' ? registryUrl(source.ref) : source.url.href;
}

/** Checks a module's signatures before it is used (the policy server's `verification.yml`). */
export interface ModuleVerifier {
  /** Names the verification config; recorded with modules that passed it, for offline loads. */
  readonly id: string;
  verify(ref: ImageReference, manifestDigest: string): Promise<void>;
}

export interface FetchedModule {
  readonly bytes: Uint8Array;
  /** sha256 of the module bytes. */
  readonly digest: string;
  /** The reference as asked for (`registry://host/repo:tag`, an https URL). */
  readonly reference: string;
  readonly manifestDigest?: string;
  /** True when served from the store without downloading the module. */
  readonly cached: boolean;
}

export interface ModuleFetcherOptions {
  readonly client: RegistryClient;
  readonly store: ModuleStore;
  readonly logger: Logger;
  readonly verifier?: ModuleVerifier;
  /** Largest module accepted (default 256 MiB). */
  readonly maxModuleBytes?: number;
  readonly now?: () => Date;
}

/**
 * Pulls policy modules through the store. A digest-pinned module that is cached never touches
 * the network; a tag is resolved on every fetch (one HEAD when nothing changed) and, when the
 * registry cannot be reached, falls back to the digest it last resolved to, with a warning.
 * Concurrent fetches of one reference share a single download.
 */
export class ModuleFetcher {
  readonly #options: ModuleFetcherOptions;
  readonly #inflight = new Map<string, Promise<FetchedModule>>();

  constructor(options: ModuleFetcherOptions) {
    this.#options = options;
  }

  /** True when modules must pass signature verification before use. */
  get verifies(): boolean {
    return this.#options.verifier !== undefined;
  }

  get store(): ModuleStore {
    return this.#options.store;
  }

  fetch(source: Exclude<ModuleSource, { kind: 'file' }>): Promise<FetchedModule> {
    const key = referenceKey(source);
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = (
        source.kind === 'registry'
          ? this.#fromRegistry(source.ref, key)
          : this.#fromUrl(source.url, key)
      ).finally(() => {
        this.#inflight.delete(key);
      });
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  #trusted(record: StoredReference): boolean {
    const { verifier } = this.#options;
    return verifier === undefined || (record.verifiedWith ?? []).includes(verifier.id);
  }

  async #cached(
    key: string,
  ): Promise<{ module: FetchedModule; record: StoredReference } | undefined> {
    const record = await this.#options.store.getReference(key);
    if (record === undefined) return undefined;
    const bytes = await this.#options.store.getBlob(record.digest);
    if (bytes === undefined) return undefined;
    const module: FetchedModule = {
      bytes,
      digest: record.digest,
      reference: key,
      ...(record.manifestDigest !== undefined ? { manifestDigest: record.manifestDigest } : {}),
      cached: true,
    };
    return { module, record };
  }

  async #fromRegistry(ref: ImageReference, key: string): Promise<FetchedModule> {
    const cached = await this.#cached(key);
    if (ref.digest !== undefined && cached !== undefined && this.#trusted(cached.record)) {
      return cached.module;
    }
    try {
      return await this.#pull(ref, key, cached);
    } catch (e) {
      if (!isPalisadeError(e) || e.code !== 'registry_unreachable' || cached === undefined) throw e;
      if (!this.#trusted(cached.record)) {
        throw new PalisadeError(
          'registry_unreachable',
          `${errorMessage(e)}; the cached ${key} was never verified with the current verification config, so it is not used`,
          { cause: e },
        );
      }
      this.#options.logger.warn(
        { reference: key, digest: cached.record.manifestDigest, error: errorMessage(e) },
        'registry unreachable: using the module cached for this reference',
      );
      return cached.module;
    }
  }

  async #pull(
    ref: ImageReference,
    key: string,
    cached: { module: FetchedModule; record: StoredReference } | undefined,
  ): Promise<FetchedModule> {
    const { client, store, verifier } = this.#options;
    const where = formatImageReference(ref);
    const known = cached?.record;
    if (known?.manifestDigest !== undefined && ref.digest === undefined && cached !== undefined) {
      // One HEAD answers "has the tag moved?"; an unchanged tag reuses the cached module.
      const { digest } = await client.manifest(ref, 'HEAD');
      if (digest === known.manifestDigest) {
        const record = await this.#verified(ref, digest, known);
        await store.putReference({ ...record, resolvedAt: this.#now() });
        return cached.module;
      }
    }
    const manifest = await client.manifest(ref);
    const { layer } = parsePolicyManifest(manifest.body, manifest.mediaType, where);
    const max = this.#options.maxModuleBytes ?? 256 * 1024 * 1024;
    if (layer.size > max) {
      throw new PalisadeError(
        'artifact_invalid',
        `${where}: the module is ${layer.size} bytes, more than the ${max} allowed`,
      );
    }
    const pinned: ImageReference = { ...ref, digest: manifest.digest };
    if (verifier !== undefined) await verifier.verify(pinned, manifest.digest);
    const bytes = await client.blob(ref, layer.digest, layer.size);
    await store.putBlob(layer.digest, bytes);
    const record: StoredReference = {
      reference: key,
      digest: layer.digest,
      manifestDigest: manifest.digest,
      size: bytes.length,
      resolvedAt: this.#now(),
      ...(verifier !== undefined ? { verifiedWith: [verifier.id] } : {}),
    };
    await store.putReference(record);
    const byDigest = registryUrl({
      registry: ref.registry,
      repository: ref.repository,
      digest: manifest.digest,
    });
    if (byDigest !== key) await store.putReference({ ...record, reference: byDigest });
    return {
      bytes: new Uint8Array(bytes),
      digest: layer.digest,
      reference: key,
      manifestDigest: manifest.digest,
      cached: false,
    };
  }

  async #verified(
    ref: ImageReference,
    manifestDigest: string,
    known: StoredReference,
  ): Promise<StoredReference> {
    const { verifier } = this.#options;
    if (verifier === undefined || this.#trusted(known)) return known;
    await verifier.verify({ ...ref, digest: manifestDigest }, manifestDigest);
    return { ...known, verifiedWith: [...(known.verifiedWith ?? []), verifier.id] };
  }

  async #fromUrl(url: URL, key: string): Promise<FetchedModule> {
    if (this.#options.verifier !== undefined) {
      throw new PalisadeError(
        'policy_load_failed',
        `${url.href}: signature verification is configured and only registry:// modules carry signatures`,
      );
    }
    const cached = await this.#cached(key);
    try {
      const { body, digest } = await this.#options.client.download(
        url,
        this.#options.maxModuleBytes ?? 256 * 1024 * 1024,
      );
      await this.#options.store.putBlob(digest, body);
      await this.#options.store.putReference({
        reference: key,
        digest,
        size: body.length,
        resolvedAt: this.#now(),
      });
      return { bytes: new Uint8Array(body), digest, reference: key, cached: false };
    } catch (e) {
      if (!isPalisadeError(e) || e.code !== 'registry_unreachable' || cached === undefined) throw e;
      this.#options.logger.warn(
        { reference: key, error: errorMessage(e) },
        'server unreachable: using the cached module',
      );
      return cached.module;
    }
  }

  #now(): string {
    return (this.#options.now?.() ?? new Date()).toISOString();
  }
}
