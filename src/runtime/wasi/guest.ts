import { Preview1, ProcExit } from '../sandbox/preview1.js';
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

/** Kubewarden's WASI mode passes the operation as argv[1]; settings validation is hyphenated. */
const COMMANDS: Record<GuestOperation, string | undefined> = {
  validate: 'validate',
  validate_settings: 'validate-settings',
  protocol_version: undefined,
};

/**
 * Kubewarden's WASI mode: the policy is a command run once per operation, reading the
 * request on stdin and writing the answer on stdout, so every call is a fresh instance
 * by construction. Host capabilities arrive through `host.call` (0 = success, the opposite
 * of waPC), with the answer appended to stdin for the guest to read next.
 */
export function createGuest(spec: GuestSpec): Guest {
  let lastFuel: bigint | undefined;
  let lastMemory = 0;
  return {
    call(operation: GuestOperation, payload: Uint8Array, host: GuestHost, fuel?: bigint) {
      const command = COMMANDS[operation];
      if (command === undefined) throw new GuestError(`WASI policies have no ${operation}`);
      const wasi = new Preview1({ args: ['policy.wasm', command], stdin: payload });
      const read = (ptr: number, len: number): Uint8Array => {
        if (!memory) throw new GuestError('the module does not export its memory');
        return new Uint8Array(memory.buffer).slice(ptr, ptr + len);
      };
      const hostCall = (
        bdPtr: number,
        bdLen: number,
        nsPtr: number,
        nsLen: number,
        opPtr: number,
        opLen: number,
        ptr: number,
        len: number,
      ): number => {
        const result = host.call({
          binding: text(read(bdPtr, bdLen)),
          namespace: text(read(nsPtr, nsLen)),
          operation: text(read(opPtr, opLen)),
          payload: read(ptr, len),
        });
        wasi.appendStdin(result.ok ? result.payload : utf8(result.error));
        return result.ok ? 0 : 1;
      };
      const instance = new WebAssembly.Instance(spec.module, {
        ...wasi.imports(),
        host: { call: hostCall },
        'kubewarden:javy/host': { call: hostCall },
      });
      const memory = instance.exports['memory'] as WebAssembly.Memory | undefined;
      if (memory) wasi.bind(memory);
      const fuelGlobal = spec.fueled
        ? (instance.exports[FUEL_GLOBAL] as WebAssembly.Global)
        : undefined;
      if (fuelGlobal && fuel !== undefined) fuelGlobal.value = fuel;
      const start = instance.exports['_start'];
      if (typeof start !== 'function') throw new GuestError('the module does not export _start');
      let code = 0;
      try {
        start();
      } catch (e) {
        if (!(e instanceof ProcExit)) throw e;
        code = e.code;
      } finally {
        lastFuel = fuelGlobal ? (fuelGlobal.value as bigint) : undefined;
        lastMemory = memory ? memory.buffer.byteLength : 0;
        const stderr = text(wasi.stderr).trim();
        if (stderr !== '') host.log('warn', stderr);
      }
      if (code !== 0) {
        const stderr = text(wasi.stderr).trim();
        throw new GuestError(
          `the policy exited with code ${String(code)}${stderr ? `: ${stderr}` : ''}`,
        );
      }
      return wasi.stdout;
    },
    fuelLeft: () => lastFuel,
    memoryBytes: () => lastMemory,
  };
}
