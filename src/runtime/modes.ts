import { PalisadeError } from '../shared/errors.js';
import { isExecutionMode, type ExecutionMode } from './sandbox/guest.js';

/** What each mode's host provides; anything else a module imports is a load error. */
const PROVIDED: Record<ExecutionMode, Record<string, readonly string[] | '*'>> = {
  'kubewarden-wapc': {
    wapc: [
      '__guest_request',
      '__guest_response',
      '__guest_error',
      '__host_call',
      '__host_response',
      '__host_response_len',
      '__host_error',
      '__host_error_len',
      '__console_log',
    ],
    wasi_snapshot_preview1: '*',
    wasi_unstable: '*',
    env: ['abort'],
  },
  wasi: {
    wasi_snapshot_preview1: '*',
    host: ['call'],
    'kubewarden:javy/host': ['call'],
  },
  opa: { env: '*' },
  gatekeeper: { env: '*' },
};

/**
 * The execution mode: the module's metadata wins, then the manifest's `executionMode`, then
 * what the exports say. Rego modules cannot tell opa from gatekeeper, so they must say.
 */
export function executionModeOf(
  module: WebAssembly.Module,
  fromMetadata: string | undefined,
  fromManifest: string | undefined,
  where: string,
): ExecutionMode {
  for (const [value, source] of [
    [fromMetadata, 'its io.kubewarden.metadata'],
    [fromManifest, 'executionMode'],
  ] as const) {
    if (value === undefined) continue;
    if (isExecutionMode(value)) return value;
    throw new PalisadeError(
      'module_invalid',
      `${where}: ${source} names execution mode "${value}"; use kubewarden-wapc, wasi, opa or gatekeeper`,
    );
  }
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  if (exports.has('__guest_call')) return 'kubewarden-wapc';
  if ([...exports].some((n) => n.startsWith('opa_'))) {
    throw new PalisadeError(
      'module_invalid',
      `${where}: a Rego module without metadata needs executionMode opa or gatekeeper`,
    );
  }
  if (exports.has('_start')) return 'wasi';
  throw new PalisadeError(
    'module_invalid',
    `${where}: cannot tell the execution mode (no metadata, no __guest_call, no opa_* or _start export)`,
  );
}

/** Rejects a module that imports what its mode's host does not provide, naming every import. */
export function checkImports(module: WebAssembly.Module, mode: ExecutionMode, where: string): void {
  const provided = PROVIDED[mode];
  const missing = WebAssembly.Module.imports(module).filter((i) => {
    const names = provided[i.module];
    if (names === undefined) return true;
    return names !== '*' && !names.includes(i.name);
  });
  if (missing.length === 0) return;
  const list = missing.map((i) => `${i.module}.${i.name}`).join(', ');
  const offered = Object.keys(provided).join(', ');
  throw new PalisadeError(
    'module_invalid',
    `${where}: imports ${list}, which Palisade does not provide to ${mode} policies (they may import from ${offered})`,
  );
}
