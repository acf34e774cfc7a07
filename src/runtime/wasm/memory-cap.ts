import { PalisadeError } from '../../shared/errors.js';
import { parseModule, type MemoryType, type WasmSection } from './binary.js';
import {
  applySplices,
  concatBytes,
  encodeSection,
  unsignedLeb,
  type Splice,
} from './byte-writer.js';

/**
 * The memory cap. V8 enforces a memory's declared maximum (`memory.grow` answers -1 past
 * it), while worker `resourceLimits` do not cover wasm memory at all (wasm.md §3), so
 * the cap is written into the module itself before it is compiled.
 */

export const WASM_PAGE_BYTES = 65_536;
/** V8's limit for 32-bit memories: 4 GiB. */
export const MAX_WASM_PAGES = 65_536;

/** A defined memory after capping. */
export interface CappedMemory {
  readonly index: number;
  readonly initial: number;
  readonly maximum: number;
  /** What the module declared, when it declared a maximum. */
  readonly declaredMaximum?: number;
}

/**
 * An imported memory the host must create, as `new WebAssembly.Memory({ initial, maximum,
 * shared })`. Its declared maximum was lowered to `maximum` too, so a host that forgets
 * the cap fails to link instead of running uncapped.
 */
export interface ImportedMemory {
  readonly module: string;
  readonly name: string;
  readonly initial: number;
  readonly maximum: number;
  readonly shared: boolean;
  readonly memory64: boolean;
}

export interface MemoryCapResult {
  /** The patched module; the input itself when every memory was already within the cap. */
  readonly bytes: Uint8Array;
  readonly defined: readonly CappedMemory[];
  readonly imported: readonly ImportedMemory[];
}

/**
 * Sets or lowers the maximum of every memory (defined and imported) to `maxPages`.
 * Rejects (`module_memory_limit`) a module whose initial memory is already above the cap:
 * it could never run within it, and failing at load names the policy instead of failing
 * every evaluation. `where` prefixes messages (e.g. the policy and module reference).
 */
export function capMemory(bytes: Uint8Array, maxPages: number, where = 'module'): MemoryCapResult {
  if (!Number.isInteger(maxPages) || maxPages < 1 || maxPages > MAX_WASM_PAGES) {
    throw new PalisadeError(
      'config_invalid',
      `memory cap must be between 1 and ${MAX_WASM_PAGES} pages, got ${maxPages}`,
    );
  }
  const info = parseModule(bytes);
  const importSplices: Splice[] = [];
  const imported: ImportedMemory[] = [];
  for (const imp of info.imports) {
    if (!imp.memory) continue;
    const label = `imported memory "${imp.module}"."${imp.name}"`;
    const maximum = checkedMaximum(imp.memory, maxPages, where, label);
    if (imp.memory.maximum !== maximum) importSplices.push(limitsSplice(imp.memory, maximum));
    const { initial, shared, memory64 } = imp.memory;
    imported.push({ module: imp.module, name: imp.name, initial, maximum, shared, memory64 });
  }
  const memorySplices: Splice[] = [];
  const defined = info.memories.map((memory, i): CappedMemory => {
    const index = imported.length + i;
    const maximum = checkedMaximum(memory, maxPages, where, `memory ${index}`);
    if (memory.maximum !== maximum) memorySplices.push(limitsSplice(memory, maximum));
    return {
      index,
      initial: memory.initial,
      maximum,
      ...(memory.maximum !== undefined ? { declaredMaximum: memory.maximum } : {}),
    };
  });
  const sectionSplices = [
    sectionSplice(bytes, info.sections, 2, importSplices),
    sectionSplice(bytes, info.sections, 5, memorySplices),
  ].filter((s) => s !== undefined);
  return {
    bytes: sectionSplices.length === 0 ? bytes : applySplices(bytes, sectionSplices),
    defined,
    imported,
  };
}

function checkedMaximum(memory: MemoryType, cap: number, where: string, label: string): number {
  if (memory.initial > cap) {
    throw new PalisadeError(
      'module_memory_limit',
      `${where}: ${label} starts at ${memory.initial} pages (${mib(memory.initial)}), above the cap of ${cap} pages (${mib(cap)})`,
    );
  }
  return Math.min(memory.maximum ?? cap, cap);
}

function mib(pages: number): string {
  return `${((pages * WASM_PAGE_BYTES) / 2 ** 20).toFixed(pages % 16 === 0 ? 0 : 2)} MiB`;
}

function limitsSplice(memory: MemoryType, maximum: number): Splice {
  const flags = 0x01 | (memory.shared ? 0x02 : 0) | (memory.memory64 ? 0x04 : 0);
  return {
    start: memory.offset,
    end: memory.offset + memory.length,
    bytes: concatBytes([Uint8Array.of(flags), unsignedLeb(memory.initial), unsignedLeb(maximum)]),
  };
}

/** Re-encodes one section with splices inside it (its size changes with them). */
function sectionSplice(
  bytes: Uint8Array,
  sections: readonly WasmSection[],
  id: number,
  inner: readonly Splice[],
): Splice | undefined {
  const section = sections.find((s) => s.id === id);
  if (!section || inner.length === 0) return undefined;
  const start = section.contentOffset;
  const content = applySplices(
    bytes.subarray(start, start + section.size),
    inner.map((s) => ({ ...s, start: s.start - start, end: s.end - start })),
  );
  return { start: section.offset, end: start + section.size, bytes: encodeSection(id, content) };
}
