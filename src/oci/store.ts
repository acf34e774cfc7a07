import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PalisadeError, errorMessage } from '../shared/errors.js';

/** What the store knows about one reference (`registry://…:tag`, `…@sha256:…`, an https URL). */
export interface StoredReference {
  readonly reference: string;
  /** sha256 of the module bytes: the blob's name in the store. */
  readonly digest: string;
  /** The manifest digest the reference resolved to (registry references only). */
  readonly manifestDigest?: string;
  readonly size: number;
  /** ISO time of the last successful resolution against the network. */
  readonly resolvedAt: string;
  /** Hashes of the verification configs this module passed, so a cached load can be trusted offline. */
  readonly verifiedWith?: readonly string[];
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function sha256(content: Uint8Array | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * The content-addressed module cache the CLI and the policy server share: blobs by digest and,
 * beside them, one small record per reference. Every file is written to a temporary name and
 * renamed into place, so a crash, a corrupt download or a concurrent writer (another process
 * pulling the same module) never leaves a half-written module to load; reads verify the digest.
 */
export class ModuleStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  blobPath(digest: string): string {
    if (!DIGEST.test(digest)) {
      throw new PalisadeError('artifact_invalid', `not a sha256 digest: ${JSON.stringify(digest)}`);
    }
    return join(this.root, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  #refPath(reference: string): string {
    return join(this.root, 'refs', `${sha256(reference)}.json`);
  }

  async #atomicWrite(path: string, content: Uint8Array | string): Promise<void> {
    const dir = join(path, '..');
    await mkdir(dir, { recursive: true });
    const temporary = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(temporary, content);
      await rename(temporary, path);
    } catch (e) {
      await rm(temporary, { force: true });
      throw new PalisadeError(
        'file_unreadable',
        `cannot write ${path} in the module store: ${errorMessage(e)}`,
        { cause: e },
      );
    }
  }

  /** Stores verified bytes under their digest; the caller has already checked it. */
  async putBlob(digest: string, content: Uint8Array): Promise<void> {
    if (`sha256:${sha256(content)}` !== digest) {
      throw new PalisadeError('artifact_invalid', `refusing to store bytes that are not ${digest}`);
    }
    await this.#atomicWrite(this.blobPath(digest), content);
  }

  /** The module bytes, or undefined when absent or no longer matching their digest. */
  async getBlob(digest: string): Promise<Uint8Array | undefined> {
    let content: Buffer;
    try {
      content = await readFile(this.blobPath(digest));
    } catch {
      return undefined;
    }
    if (`sha256:${sha256(content)}` !== digest) {
      await rm(this.blobPath(digest), { force: true });
      return undefined;
    }
    return new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
  }

  async getReference(reference: string): Promise<StoredReference | undefined> {
    try {
      const record = JSON.parse(
        await readFile(this.#refPath(reference), 'utf8'),
      ) as StoredReference;
      return record.reference === reference && DIGEST.test(record.digest) ? record : undefined;
    } catch {
      return undefined;
    }
  }

  async putReference(record: StoredReference): Promise<void> {
    await this.#atomicWrite(
      this.#refPath(record.reference),
      `${JSON.stringify(record, null, 2)}\n`,
    );
  }

  /** Every reference with a module still present, sorted by reference. */
  async list(): Promise<(StoredReference & { readonly path: string })[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, 'refs'));
    } catch {
      return [];
    }
    const out: (StoredReference & { readonly path: string })[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        const record = JSON.parse(
          await readFile(join(this.root, 'refs', name), 'utf8'),
        ) as StoredReference;
        const path = this.blobPath(record.digest);
        await stat(path);
        out.push({ ...record, path });
      } catch {
        // A reference whose module is gone, or a foreign file: not listed.
      }
    }
    return out.sort((a, b) => a.reference.localeCompare(b.reference));
  }

  /**
   * Forgets a reference, and its module when no other reference still names it. True when the
   * reference was known.
   */
  async remove(reference: string): Promise<boolean> {
    const record = await this.getReference(reference);
    if (record === undefined) return false;
    await rm(this.#refPath(reference), { force: true });
    const others = (await this.list()).some((r) => r.digest === record.digest);
    if (!others) await rm(this.blobPath(record.digest), { force: true });
    return true;
  }
}
