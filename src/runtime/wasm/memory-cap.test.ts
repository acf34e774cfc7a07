import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { isPalisadeError } from '../../shared/errors.js';
import { parseModule } from './binary.js';
import { setCustomSection } from './edit.js';
import { capMemory } from './memory-cap.js';

const wabt = await wabtInit();

function wat(text: string): Uint8Array {
  const m = wabt.parseWat('test.wat', text, { threads: true });
  try {
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
}

/** Grows its memory a page at a time, touching each new page, until memory.grow fails. */
const GROW = (memory: string) =>
  wat(`(module
  ${memory}
  (func (export "grow") (result i32) (local $old i32)
    (block $full (loop $more
      (local.set $old (memory.grow (i32.const 1)))
      (br_if $full (i32.eq (local.get $old) (i32.const -1)))
      (i32.store (i32.mul (local.get $old) (i32.const 65536)) (i32.const 42))
      (br $more)))
    (memory.size)))`);

describe('capMemory', () => {
  it('stops a growing module at the cap, with memory.grow answering -1', () => {
    const { bytes, defined } = capMemory(GROW('(memory (export "memory") 1)'), 64);
    expect(defined).toEqual([{ index: 0, initial: 1, maximum: 64 }]);
    const i = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    expect((i.exports.grow as () => number)()).toBe(64);
    expect((i.exports.memory as WebAssembly.Memory).buffer.byteLength).toBe(64 * 65536);
  });

  it('lowers a larger declared maximum and keeps a smaller one', () => {
    const high = capMemory(GROW('(memory 2 1000)'), 16);
    expect(high.defined).toEqual([{ index: 0, initial: 2, maximum: 16, declaredMaximum: 1000 }]);
    expect(parseModule(high.bytes).memories[0]?.maximum).toBe(16);
    const low = GROW('(memory 2 8)');
    const kept = capMemory(low, 16);
    expect(kept.bytes).toBe(low);
    expect(kept.defined[0]?.maximum).toBe(8);
  });

  it('rejects a module whose initial memory is above the cap', () => {
    let error: unknown;
    try {
      capMemory(GROW('(memory 300)'), 256, 'policy "p" module file://x.wasm');
    } catch (e) {
      error = e;
    }
    expect(isPalisadeError(error, 'module_memory_limit')).toBe(true);
    expect((error as Error).message).toBe(
      'policy "p" module file://x.wasm: memory 0 starts at 300 pages (18.75 MiB), above the cap of 256 pages (16 MiB)',
    );
  });

  it('caps imported memories in the module and reports them for the host', () => {
    const source = GROW('(import "env" "memory" (memory 2))');
    const { bytes, imported, defined } = capMemory(source, 8);
    expect(defined).toEqual([]);
    expect(imported).toEqual([
      { module: 'env', name: 'memory', initial: 2, maximum: 8, shared: false, memory64: false },
    ]);
    const module = new WebAssembly.Module(bytes);
    const uncapped = new WebAssembly.Memory({ initial: 2 });
    expect(() => new WebAssembly.Instance(module, { env: { memory: uncapped } })).toThrow(
      WebAssembly.LinkError,
    );
    const memory = new WebAssembly.Memory({ initial: 2, maximum: imported[0]!.maximum });
    const i = new WebAssembly.Instance(module, { env: { memory } });
    expect((i.exports.grow as () => number)()).toBe(8);
  });

  it('keeps shared memories shared and other sections intact', () => {
    const source = setCustomSection(
      wat('(module (memory (export "m") 1 65536 shared))'),
      'io.kubewarden.metadata',
      new TextEncoder().encode('{}'),
    );
    const { bytes, defined } = capMemory(source, 4);
    expect(defined[0]?.maximum).toBe(4);
    const info = parseModule(bytes);
    expect(info.memories[0]).toMatchObject({ initial: 1, maximum: 4, shared: true });
    expect(info.customSections.map((s) => s.name)).toEqual(['io.kubewarden.metadata']);
    const m = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.m;
    expect((m as WebAssembly.Memory).buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('refuses a cap that is not a page count V8 accepts', () => {
    expect(() => capMemory(GROW('(memory 1)'), 0)).toThrow(/between 1 and 65536/);
    expect(() => capMemory(GROW('(memory 1)'), 1.5)).toThrow(/between 1 and 65536/);
  });
});
