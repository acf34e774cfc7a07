import { readFile } from 'node:fs/promises';
import type { RegistryClient } from '../oci/client.js';
import { referenceKey, type ModuleFetcher } from '../oci/fetcher.js';
import { pushModule, type PushResult } from '../oci/push.js';
import { parseModuleSource, registryUrl, type ImageReference } from '../oci/reference.js';
import type { ModuleStore } from '../oci/store.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';

/** A remote module reference (registry or URL); `file://` has nothing to pull or remove. */
export function remoteSource(text: string) {
  const source = parseModuleSource(text);
  if (source.kind === 'file') {
    throw new PalisadeError('reference_invalid', `${text}: a file is not in the module store`);
  }
  return source;
}

export function registryReference(text: string): ImageReference {
  const source = parseModuleSource(text);
  if (source.kind !== 'registry') {
    throw new PalisadeError('reference_invalid', `${text}: expected a registry:// reference`);
  }
  return source.ref;
}

export async function pushCommand(
  client: RegistryClient,
  modulePath: string,
  destination: string,
  force: boolean,
): Promise<PushResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(modulePath);
  } catch (e) {
    throw new PalisadeError('file_unreadable', `cannot read ${modulePath}: ${errorMessage(e)}`);
  }
  return pushModule(client, new Uint8Array(bytes), registryReference(destination), {
    force,
    where: modulePath,
  });
}

export async function pullCommand(fetcher: ModuleFetcher, reference: string): Promise<string> {
  const module = await fetcher.fetch(remoteSource(reference));
  const manifest = module.manifestDigest === undefined ? '' : ` manifest ${module.manifestDigest}`;
  return `${module.reference}${manifest} module ${module.digest} (${module.bytes.length} bytes${module.cached ? ', cached' : ''})\n`;
}

/** `kwctl policies`: what the store holds, one line per reference. */
export async function policiesCommand(store: ModuleStore, json: boolean): Promise<string> {
  const entries = await store.list();
  if (json) return `${JSON.stringify(entries, null, 2)}\n`;
  if (entries.length === 0) return `no policies in ${store.root}\n`;
  const rows = [
    ['REFERENCE', 'MANIFEST DIGEST', 'MODULE DIGEST', 'SIZE'],
    ...entries.map((e) => [e.reference, e.manifestDigest ?? '-', e.digest, formatSize(e.size)]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map(
      (r) =>
        `${r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export async function rmCommand(store: ModuleStore, reference: string): Promise<string> {
  const key = referenceKey(remoteSource(reference));
  if (!(await store.remove(key))) {
    throw new PalisadeError('reference_invalid', `${key} is not in the module store ${store.root}`);
  }
  return `removed ${key}\n`;
}

/** `kwctl digest`: the manifest digest a reference resolves to now, as an immutable reference. */
export async function digestCommand(client: RegistryClient, reference: string): Promise<string> {
  const ref = registryReference(reference);
  const { digest } = await client.manifest(ref, 'HEAD');
  return `${registryUrl({ ...ref, digest })}\n`;
}

/** `key=value` pairs of `-a/--annotation`, as cosign and kwctl take them. */
export function parseAnnotations(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new PalisadeError(
        'config_invalid',
        `annotation ${JSON.stringify(pair)} is not key=value`,
      );
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
