import type { HostCallRequest, HostCallResult } from '../capabilities/types.js';

/**
 * The Kubewarden execution modes; the folder of each runtime under src/runtime has this name.
 * Kept here rather than imported from api/metadata.ts so sandbox threads load no schema code.
 */
export const EXECUTION_MODES = ['kubewarden-wapc', 'wasi', 'opa', 'gatekeeper'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

export function isExecutionMode(value: unknown): value is ExecutionMode {
  return typeof value === 'string' && (EXECUTION_MODES as readonly string[]).includes(value);
}

/**
 * The three operations every Kubewarden policy answers. Whatever the mode, a guest answers
 * them in Kubewarden's waPC shapes (ValidationResponse, SettingsValidationResponse, `"v1"`),
 * so everything outside the worker handles one format.
 */
export type GuestOperation = 'validate' | 'validate_settings' | 'protocol_version';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** What a guest can reach from inside the worker, all synchronous as the guest ABI is. */
export interface GuestHost {
  /** Blocks the worker until the main thread answers or the evaluation's deadline passes. */
  call(request: HostCallRequest): HostCallResult;
  log(level: LogLevel, message: string): void;
}

/** How a policy's module is run; fixed at load, sent to every worker with the module. */
export interface GuestSpec {
  readonly mode: ExecutionMode;
  readonly module: WebAssembly.Module;
  /** Cap for imported memories (OPA); defined memories were capped in the binary at load. */
  readonly maxMemoryPages: number;
  /** The policy's settings, which Rego modes hand to the module as data or parameters. */
  readonly settings: unknown;
  /** True when the module carries the fuel counter added at load. */
  readonly fueled: boolean;
}

/** One policy inside one worker. */
export interface Guest {
  /**
   * Runs one operation. `fuel` is the instruction budget for this call (undefined when
   * the module is not fueled). Throws on traps; the worker classifies the failure.
   */
  call(operation: GuestOperation, payload: Uint8Array, host: GuestHost, fuel?: bigint): Uint8Array;
  /** Fuel left after the last call, to tell an exhausted budget from another trap. */
  fuelLeft(): bigint | undefined;
  /** Bytes of linear memory the last instance used, to tell a memory cap from another trap. */
  memoryBytes(): number;
}

export type GuestFactory = (spec: GuestSpec) => Guest;

/** A guest that refused to answer: its own error message, not a trap. */
export class GuestError extends Error {
  override readonly name = 'GuestError';
}

export const FUEL_GLOBAL = '__palisade_fuel';
export const PAGE_BYTES = 65536;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const utf8 = (text: string): Uint8Array => encoder.encode(text);
export const text = (bytes: Uint8Array): string => decoder.decode(bytes);
