import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ModuleLoader, ModuleRequest } from '../engine/types.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { WasmRuntime } from './runtime.js';

/**
 * The engine's port to WebAssembly: resolves a module reference to bytes and loads them.
 * `file://` paths may be relative, resolved against the folder of the manifest that names
 * them, so a policy and its module can move together; `registry://` comes with OCI support.
 */
export function createModuleLoader(runtime: WasmRuntime): ModuleLoader {
  return async (request: ModuleRequest) => {
    const bytes = await readModuleBytes(request);
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

async function readModuleBytes(request: ModuleRequest): Promise<Uint8Array> {
  const path = modulePath(request.module, request.source);
  if (path === undefined) {
    throw new PalisadeError(
      'policy_load_failed',
      `module "${request.module}": only file:// modules can be loaded yet (registry:// needs OCI support)`,
    );
  }
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new PalisadeError(
      'file_unreadable',
      `module "${request.module}" (${path}) cannot be read: ${errorMessage(e)}`,
    );
  }
}
