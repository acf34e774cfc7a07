import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { readModuleMetadata, type PolicyMetadata } from '../api/metadata.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import { parseModule } from './wasm/binary.js';
import { fuelCacheKey } from './wasm/fuel.js';
import { capMemory } from './wasm/memory-cap.js';

export interface PreparedModule {
  readonly module: WebAssembly.Module;
  readonly metadata?: PolicyMetadata;
  readonly fueled: boolean;
}

export interface PrepareOptions {
  readonly digest: string;
  readonly where: string;
  readonly maxMemoryPages: number;
  readonly fuel: boolean;
  /** Where fuel-instrumented modules are kept across restarts (instrumenting takes seconds). */
  readonly cacheDir?: string;
}

/**
 * Turns the bytes of a policy into the module the sandbox runs: metadata read from the
 * original bytes, memory capped in the binary, fuel counted in every loop, compiled once and
 * shared by every policy and worker that uses the same digest.
 */
export async function prepareModule(
  bytes: Uint8Array,
  options: PrepareOptions,
): Promise<PreparedModule> {
  try {
    parseModule(bytes);
  } catch (e) {
    throw new PalisadeError(
      'module_invalid',
      `${options.where}: not a valid WebAssembly module: ${errorMessage(e)}`,
    );
  }
  const metadata = readModuleMetadata(bytes, options.where);
  const capped = capMemory(bytes, options.maxMemoryPages, options.where).bytes;
  const runnable = options.fuel ? await fueled(capped, options) : capped;
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(runnable);
  } catch (e) {
    throw new PalisadeError(
      'module_invalid',
      `${options.where}: does not compile: ${errorMessage(e)}`,
    );
  }
  return { module, ...(metadata ? { metadata } : {}), fueled: options.fuel };
}

/** Fuel-instrumented bytes, from the disk cache when an earlier run made them. */
async function fueled(bytes: Uint8Array, options: PrepareOptions): Promise<Uint8Array> {
  const key = fuelCacheKey(bytes).replace(/[^a-z0-9+-]/gi, '_');
  const file = options.cacheDir !== undefined ? join(options.cacheDir, `${key}.wasm`) : undefined;
  if (file !== undefined) {
    const cached = await readFile(file).catch(() => undefined);
    if (cached) return new Uint8Array(cached);
  }
  const out = await instrumentInThread(bytes);
  if (file !== undefined && options.cacheDir !== undefined) {
    // Written aside then renamed: a concurrent reader never sees half a module.
    const partial = `${file}.${String(process.pid)}.partial`;
    await mkdir(options.cacheDir, { recursive: true })
      .then(() => writeFile(partial, out))
      .then(() => rename(partial, file))
      .catch(() => undefined);
  }
  return out;
}

/** `instrumentFuel` in a short-lived thread (see fuel-thread.ts); errors keep their message. */
function instrumentInThread(bytes: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(threadUrl(), { workerData: bytes });
    // The thread ends by itself once it has answered; terminating it while binaryen unwinds
    // is what a crash seen once in a benchmark pointed at.
    worker.unref();
    worker.once('message', (m: { ok: true; bytes: Uint8Array } | { ok: false; error: string }) => {
      if (m.ok) resolve(m.bytes);
      else reject(new PalisadeError('module_invalid', m.error));
    });
    worker.once('error', (e) => {
      reject(new PalisadeError('module_invalid', `adding fuel failed: ${errorMessage(e)}`));
    });
  });
}

/** The compiled thread script; from the sources (vitest) it is the one in dist/. */
function threadUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new URL('./fuel-thread.js', import.meta.url);
  return new URL(
    `file://${here.replace(/\/src\/runtime\/prepare\.ts$/, '/dist/runtime/fuel-thread.js')}`,
  );
}
