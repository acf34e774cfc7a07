import { Preview1 } from '../sandbox/preview1.js';
import {
  FUEL_GLOBAL,
  GuestError,
  text,
  utf8,
  type Guest,
  type GuestHost,
  type GuestOperation,
  type GuestSpec,
} from '../sandbox/guest.js';

/** Per-call state the `wapc` imports read and write; one per instance. */
interface CallState {
  operation: Uint8Array;
  payload: Uint8Array;
  response?: Uint8Array;
  error?: string;
  hostResponse: Uint8Array;
  hostError: Uint8Array;
  host: GuestHost;
}

/**
 * The waPC host as Kubewarden's wapc-rs provider implements it. Every call gets a fresh
 * instance (instantiation costs tens of microseconds for a compiled module), so nothing a
 * guest leaves in its memory or globals can reach the next evaluation.
 */
export function createGuest(spec: GuestSpec): Guest {
  let lastFuel: bigint | undefined;
  let lastMemory = 0;
  const wantsWasi = WebAssembly.Module.imports(spec.module).some((i) =>
    i.module.startsWith('wasi'),
  );
  return {
    call(operation: GuestOperation, payload: Uint8Array, host: GuestHost, fuel?: bigint) {
      const state: CallState = {
        operation: utf8(operation),
        payload,
        hostResponse: new Uint8Array(0),
        hostError: new Uint8Array(0),
        host,
      };
      const view = (): Uint8Array => {
        if (!memory) throw new GuestError('the module does not export its memory');
        return new Uint8Array(memory.buffer);
      };
      const read = (ptr: number, len: number): Uint8Array => view().slice(ptr, ptr + len);
      const wasi = wantsWasi ? new Preview1({ args: ['policy.wasm'] }) : undefined;
      const imports: WebAssembly.Imports = {
        wapc: wapcImports(state, view, read),
        // Old AssemblyScript guests import env.abort; wapc-rs does not provide it, so they
        // could never run upstream. Treat it as the guest's own error.
        env: {
          abort: () => {
            throw new GuestError('the guest aborted');
          },
        },
        ...(wasi ? wasi.imports() : {}),
      };
      const instance = new WebAssembly.Instance(spec.module, imports);
      const exports = instance.exports;
      const memory = exports['memory'] as WebAssembly.Memory | undefined;
      if (wasi && memory) wasi.bind(memory);
      const fuelGlobal = spec.fueled ? (exports[FUEL_GLOBAL] as WebAssembly.Global) : undefined;
      try {
        for (const start of startFunctions(exports)) start();
        if (fuelGlobal && fuel !== undefined) fuelGlobal.value = fuel;
        const guestCall = exports['__guest_call'];
        if (typeof guestCall !== 'function')
          throw new GuestError('the module does not export __guest_call');
        const ok = (guestCall as (opLen: number, payloadLen: number) => number)(
          state.operation.length,
          payload.length,
        );
        if (ok !== 1 || state.response === undefined) {
          throw new GuestError(state.error ?? `the guest failed ${operation} without a message`);
        }
        return state.response;
      } finally {
        lastFuel = fuelGlobal ? (fuelGlobal.value as bigint) : undefined;
        lastMemory = memory ? memory.buffer.byteLength : 0;
      }
    },
    fuelLeft: () => lastFuel,
    memoryBytes: () => lastMemory,
  };
}

/**
 * TinyGo guests need `_start` (the Go runtime), clang reactors `_initialize`; wapc-rs only
 * calls `_start`, so calling whichever exists runs both kinds of module.
 */
function startFunctions(exports: WebAssembly.Exports): ((...args: never[]) => unknown)[] {
  const names = typeof exports['_start'] === 'function' ? ['_start'] : ['_initialize'];
  names.push('wapc_init');
  return names.flatMap((n) => {
    const f = exports[n];
    return typeof f === 'function' ? [f] : [];
  });
}

function wapcImports(
  state: CallState,
  view: () => Uint8Array,
  read: (ptr: number, len: number) => Uint8Array,
): WebAssembly.ModuleImports {
  return {
    __guest_request(opPtr: number, payloadPtr: number) {
      const mem = view();
      mem.set(state.operation, opPtr);
      mem.set(state.payload, payloadPtr);
    },
    __guest_response(ptr: number, len: number) {
      state.response = read(ptr, len);
    },
    __guest_error(ptr: number, len: number) {
      state.error = text(read(ptr, len));
    },
    __host_call(
      bdPtr: number,
      bdLen: number,
      nsPtr: number,
      nsLen: number,
      opPtr: number,
      opLen: number,
      ptr: number,
      len: number,
    ): number {
      const result = state.host.call({
        binding: text(read(bdPtr, bdLen)),
        namespace: text(read(nsPtr, nsLen)),
        operation: text(read(opPtr, opLen)),
        payload: read(ptr, len),
      });
      state.hostResponse = result.ok ? result.payload : new Uint8Array(0);
      state.hostError = result.ok ? new Uint8Array(0) : utf8(result.error);
      return result.ok ? 1 : 0;
    },
    __host_response_len: () => state.hostResponse.length,
    __host_response(ptr: number) {
      view().set(state.hostResponse, ptr);
    },
    __host_error_len: () => state.hostError.length,
    __host_error(ptr: number) {
      view().set(state.hostError, ptr);
    },
    __console_log(ptr: number, len: number) {
      state.host.log('info', text(read(ptr, len)));
    },
  };
}
