import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModuleStore } from './store.js';

const digestOf = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record = (reference: string, digest: string, size: number) => ({
  reference,
  digest,
  size,
  resolvedAt: '2026-11-21T00:00:00.000Z',
});

describe('ModuleStore', () => {
  it('keeps blobs by digest and refuses bytes that are not what they claim', async () => {
    const store = new ModuleStore(dir);
    const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d]);
    await store.putBlob(digestOf(bytes), bytes);
    expect(await store.getBlob(digestOf(bytes))).toEqual(bytes);
    await expect(store.putBlob(digestOf(new Uint8Array([1])), bytes)).rejects.toThrow(
      'refusing to store bytes that are not',
    );
    expect(
      (await readdir(join(dir, 'blobs', 'sha256'))).filter((n) => n.startsWith('.tmp')),
    ).toEqual([]);
  });

  it('drops a blob that no longer matches its digest instead of loading it', async () => {
    const store = new ModuleStore(dir);
    const bytes = new Uint8Array([1, 2, 3]);
    const digest = digestOf(bytes);
    await store.putBlob(digest, bytes);
    await writeFile(store.blobPath(digest), 'tampered');
    expect(await store.getBlob(digest)).toBeUndefined();
  });

  it('lists references and removes a module only when no reference names it', async () => {
    const store = new ModuleStore(dir);
    const bytes = new Uint8Array([9, 9]);
    const digest = digestOf(bytes);
    await store.putBlob(digest, bytes);
    await store.putReference(record('registry://r/p:v1', digest, 2));
    await store.putReference(record('registry://r/p@sha256:' + 'a'.repeat(64), digest, 2));
    expect((await store.list()).map((r) => r.reference)).toEqual([
      'registry://r/p:v1',
      `registry://r/p@sha256:${'a'.repeat(64)}`,
    ]);
    expect(await store.remove('registry://r/p:v1')).toBe(true);
    expect(await store.getBlob(digest)).toEqual(bytes);
    expect(await store.remove(`registry://r/p@sha256:${'a'.repeat(64)}`)).toBe(true);
    expect(await store.getBlob(digest)).toBeUndefined();
    expect(await store.remove('registry://r/p:v1')).toBe(false);
  });
});
