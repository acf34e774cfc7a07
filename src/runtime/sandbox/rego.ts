import { createRequire } from 'node:module';

// The package's ESM entry exposes only the asynchronous loader; guests run synchronously.
const { loadPolicySync } = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as {
  loadPolicySync: (module: WebAssembly.Module, memory: WebAssembly.MemoryDescriptor) => unknown;
};
import { FUEL_GLOBAL, GuestError, text, utf8, type Guest, type GuestSpec } from './guest.js';

interface RegoInstance {
  evaluate(input: unknown, entrypoint?: number | string): unknown;
  setData(data: unknown): void;
  readonly wasmInstance: WebAssembly.Instance;
  readonly mem: WebAssembly.Memory;
}

/** Turns the Rego result set into Kubewarden's ValidationResponse; differs between modes. */
export type RegoResponseMapper = (resultSet: unknown, request: unknown) => Record<string, unknown>;

/**
 * Shared by the `opa` and `gatekeeper` runtimes: Rego compiled to WebAssembly, run with OPA's
 * own ABI host (@open-policy-agent/opa-wasm). One instance is kept per policy and worker: the
 * ABI resets the heap to the data snapshot after every evaluation, so nothing of one input
 * survives into the next; after a trap the instance is dropped and rebuilt.
 */
export function createRegoGuest(
  spec: GuestSpec,
  build: { data: unknown; input: (request: unknown) => unknown; respond: RegoResponseMapper },
): Guest {
  let instance: RegoInstance | undefined;
  let lastFuel: bigint | undefined;
  const fresh = (): RegoInstance => {
    const loaded = loadPolicySync(spec.module, {
      initial: 5,
      maximum: spec.maxMemoryPages,
    }) as RegoInstance;
    loaded.setData(build.data);
    return loaded;
  };
  return {
    call(operation, payload, _host, fuel) {
      // Kubewarden validates no settings for Rego policies and reports no protocol version.
      if (operation === 'validate_settings') return utf8('{"valid":true}');
      if (operation === 'protocol_version') return utf8('"Unknown"');
      const parsed = JSON.parse(text(payload)) as { request?: unknown };
      instance ??= fresh();
      const current = instance;
      const fuelGlobal = spec.fueled
        ? (current.wasmInstance.exports[FUEL_GLOBAL] as WebAssembly.Global)
        : undefined;
      if (fuelGlobal && fuel !== undefined) fuelGlobal.value = fuel;
      try {
        const resultSet = current.evaluate(build.input(parsed.request), 0);
        return utf8(JSON.stringify(build.respond(resultSet, parsed.request)));
      } catch (e) {
        instance = undefined;
        if (e instanceof GuestError) throw e;
        throw e instanceof Error ? e : new GuestError(String(e));
      } finally {
        lastFuel = fuelGlobal ? (fuelGlobal.value as bigint) : undefined;
      }
    },
    fuelLeft: () => lastFuel,
    memoryBytes: () => instance?.mem.buffer.byteLength ?? 0,
  };
}

/** The `result` of the first entry of a Rego result set, or a guest error naming the shape. */
export function firstResult(resultSet: unknown): unknown {
  if (Array.isArray(resultSet) && resultSet.length > 0) {
    const first: unknown = resultSet[0];
    if (typeof first === 'object' && first !== null && 'result' in first) return first.result;
  }
  throw new GuestError(
    `the Rego policy returned an unexpected result: ${JSON.stringify(resultSet).slice(0, 200)}`,
  );
}
