import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { PolicyDefinition } from '../engine/index.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';

/** True when `--policy` names a WebAssembly module rather than a manifest. */
export function isModuleReference(policy: string): boolean {
  return /^(file|registry|https?):\/\//.test(policy) || policy.endsWith('.wasm');
}

export interface ModulePolicyOptions {
  readonly executionMode?: string;
  /** kwctl's `--allow-context-aware`: grant the resources the module's metadata asks for. */
  readonly allowContextAware?: boolean;
}

/**
 * A policy made from a bare module, as `kwctl run policy.wasm` evaluates one: no rules (it
 * sees every request), allowed to mutate so a patch is shown, every host capability granted.
 */
export async function definitionForModule(
  policy: string,
  options: ModulePolicyOptions,
): Promise<PolicyDefinition> {
  const module = /^[a-z]+:\/\//.test(policy) ? policy : `file://${resolve(policy)}`;
  const contextAwareResources =
    options.allowContextAware === true ? await requestedResources(module) : [];
  const id = basename(module).replace(/\.wasm$/, '') || 'policy';
  return {
    id,
    name: id,
    source: resolve('.'),
    mode: 'protect',
    body: {
      type: 'policy',
      module,
      settings: undefined,
      settingsPath: '--settings-json',
      allowedToMutate: true,
      contextAwareResources,
      ...(options.executionMode !== undefined ? { executionMode: options.executionMode } : {}),
    },
  };
}

/** The `contextAwareResources` of the module's `io.kubewarden.metadata`, if any. */
async function requestedResources(module: string): Promise<{ apiVersion: string; kind: string }[]> {
  if (!module.startsWith('file://')) return [];
  const path = module.slice('file://'.length);
  try {
    const compiled = await WebAssembly.compile(await readFile(path));
    const section = WebAssembly.Module.customSections(compiled, 'io.kubewarden.metadata')[0];
    if (!section) return [];
    const metadata = JSON.parse(new TextDecoder().decode(section)) as {
      contextAwareResources?: { apiVersion: string; kind: string }[];
    };
    return metadata.contextAwareResources ?? [];
  } catch (e) {
    throw new PalisadeError(
      'module_invalid',
      `${path}: cannot read its metadata: ${errorMessage(e)}`,
    );
  }
}
