import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ModuleLoader, ModuleRequest } from '../engine/types.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { ModuleFetcher } from '../oci/fetcher.js';
import { parseModuleSource } from '../oci/reference.js';
import type { WasmRuntime } from './runtime.js';

/**
 * The engine's port to WebAssembly: resolves a module reference to bytes and loads them.
 * `file://` paths may be relative, resolved against the folder of the manifest that names
 * them, so a policy and its module can move together; `registry://` and `https://` modules
 * come through the OCI fetcher and its store. Without a fetcher only files load.
 */
export function createModuleLoader(runtime: WasmRuntime, fetcher?: ModuleFetcher): ModuleLoader {
  return async (request: ModuleRequest) => {
    const bytes = await readModuleBytes(request, fetcher);
    return runtime.load({
      policyId: request.policyId,
      bytes,
      where: `policy "${request.policyId}" module ${request.module}`,
      settings: request.settings,
      ...(request.executionMode !== undefined ? { executionMode: request.executionMode } : {}),
      grant: {
        policyId: request.policyId,
        contextAwareResources: request.contextAwareResources,
        hostCapabilities: request.hostCapabilities,
      },
      timeoutMs: request.timeoutMs,
    });
  };
}

/** The absolute path a `file://` reference names, or undefined for other schemes. */
export function modulePath(module: string, source: string): string | undefined {
  if (!module.startsWith('file://')) return undefined;
  const path = decodeURIComponent(module.slice('file://'.length));
  return isAbsolute(path) ? path : resolve(dirname(source), path);
}

async function readModuleBytes(
  request: ModuleRequest,
  fetcher: ModuleFetcher | undefined,
): Promise<Uint8Array> {
  const where = `policy "${request.policyId}" module ${request.module}`;
  const source = parseModuleSource(request.module);
  if (source.kind !== 'file') {
    if (fetcher === undefined) {
      throw new PalisadeError(
        'policy_load_failed',
        `${where}: remote modules need a module store, which this command runs without`,
      );
    }
    try {
      return (await fetcher.fetch(source)).bytes;
    } catch (e) {
      if (e instanceof PalisadeError) {
        throw new PalisadeError(e.code, `${where}: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }
  if (fetcher?.verifies === true) {
    throw new PalisadeError(
      'policy_load_failed',
      `${where}: signature verification is configured, and only registry:// modules carry signatures`,
    );
  }
  const path = modulePath(request.module, request.source) ?? source.path;
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new PalisadeError(
      'file_unreadable',
      `module "${request.module}" (${path}) cannot be read: ${errorMessage(e)}`,
    );
  }
}
