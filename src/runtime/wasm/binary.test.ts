import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { isPalisadeError } from '../../shared/errors.js';
import { findCustomSection, parseModule } from './binary.js';
import { concatBytes, encodeName, encodeSection } from './byte-writer.js';
import { removeCustomSection, renameImportModules, setCustomSection } from './edit.js';

const wabt = await wabtInit();

function wat(text: string): Uint8Array {
  const m = wabt.parseWat('test.wat', text, { threads: true, memory64: true });
  try {
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
}

const WAPC_LIKE = wat(`(module
  (import "wapc" "__guest_request" (func (param i32 i32)))
  (import "env" "memory" (memory 2 16))
  (import "env" "table" (table 1 funcref))
  (import "env" "g" (global (mut i64)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory $own 1)
  (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1))
  (global (export "counter") (mut i32) (i32.const 0))
  (export "own" (memory $own)))`);

const utf8 = (s: string) => new TextEncoder().encode(s);

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('parseModule', () => {
  it('lists imports with memory limits, exports and defined memories', () => {
    const info = parseModule(WAPC_LIKE);
    expect(info.imports.map((i) => [i.module, i.name, i.kind])).toEqual([
      ['wapc', '__guest_request', 'function'],
      ['env', 'memory', 'memory'],
      ['env', 'table', 'table'],
      ['env', 'g', 'global'],
      ['wasi_snapshot_preview1', 'fd_write', 'function'],
    ]);
    expect(info.imports[1]?.memory).toMatchObject({
      initial: 2,
      maximum: 16,
      shared: false,
      memory64: false,
    });
    expect(info.exports).toEqual([
      { name: '__guest_call', kind: 'function', index: 2 },
      { name: 'counter', kind: 'global', index: 1 },
      { name: 'own', kind: 'memory', index: 1 },
    ]);
    expect(info.memories).toHaveLength(1);
    expect(info.memories[0]).toMatchObject({ initial: 1, shared: false });
    expect(info.memories[0]?.maximum).toBeUndefined();
    expect(info.sections.map((s) => s.id)).toEqual([1, 2, 3, 5, 6, 7, 10]);
  });

  it('reads shared and 64-bit memory limits', () => {
    const info = parseModule(wat('(module (memory 1 4 shared) (memory i64 3 5))'));
    expect(
      info.memories.map(({ initial, maximum, shared, memory64 }) => ({
        initial,
        maximum,
        shared,
        memory64,
      })),
    ).toEqual([
      { initial: 1, maximum: 4, shared: true, memory64: false },
      { initial: 3, maximum: 5, shared: false, memory64: true },
    ]);
  });

  it('rejects bytes that are not a module', () => {
    const e = errorOf(() => parseModule(utf8('#!/bin/sh\necho hi\n')));
    expect(isPalisadeError(e, 'module_invalid')).toBe(true);
    expect(e.message).toMatch(/offset 0 .*does not start with "\\0asm"/);
  });

  it('names a component as such', () => {
    const component = Uint8Array.of(0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0);
    expect(errorOf(() => parseModule(component)).message).toMatch(/component/);
  });

  it('names the offset of a truncated section', () => {
    const bytes = WAPC_LIKE.subarray(0, WAPC_LIKE.length - 3);
    const last = parseModule(WAPC_LIKE).sections.at(-1)!;
    const e = errorOf(() => parseModule(bytes));
    expect(e.message).toContain(`offset ${last.offset} `);
    expect(e.message).toMatch(/code section is truncated/);
  });

  it('names the offset of a bad import kind', () => {
    const imports = concatBytes([
      Uint8Array.of(1),
      encodeName('env'),
      encodeName('x'),
      Uint8Array.of(0x7e, 0),
    ]);
    const bytes = concatBytes([WAPC_LIKE.subarray(0, 8), encodeSection(2, imports)]);
    expect(errorOf(() => parseModule(bytes)).message).toMatch(
      /offset 17 \(0x11\): unsupported import kind 0x7e for "env"."x"/,
    );
  });

  it('rejects sections out of order and unknown section ids', () => {
    const header = WAPC_LIKE.subarray(0, 8);
    const twice = concatBytes([
      header,
      encodeSection(5, Uint8Array.of(0)),
      encodeSection(2, Uint8Array.of(0)),
    ]);
    expect(errorOf(() => parseModule(twice)).message).toMatch(/offset 11 .*out of order/);
    const unknown = concatBytes([header, encodeSection(42, new Uint8Array(0))]);
    expect(errorOf(() => parseModule(unknown)).message).toMatch(/unknown section id 42/);
  });

  it('rejects an invalid UTF-8 name', () => {
    const bad = concatBytes([
      WAPC_LIKE.subarray(0, 8),
      encodeSection(0, Uint8Array.of(2, 0xc3, 0x28)),
    ]);
    expect(errorOf(() => parseModule(bad)).message).toMatch(/offset 10 .*not valid UTF-8/);
  });
});

describe('custom sections', () => {
  it('round-trips a new section, readable by V8 and by the parser', () => {
    const payload = utf8('{"mutating":false}');
    const out = setCustomSection(WAPC_LIKE, 'io.kubewarden.metadata', payload);
    expect(findCustomSection(parseModule(out), 'io.kubewarden.metadata')).toEqual(payload);
    const v8 = WebAssembly.Module.customSections(
      new WebAssembly.Module(out),
      'io.kubewarden.metadata',
    );
    expect(v8.map((s) => new Uint8Array(s))).toEqual([payload]);
    expect(out.subarray(0, WAPC_LIKE.length)).toEqual(WAPC_LIKE);
  });

  it('replaces the first section of a name in place and drops duplicates', () => {
    let bytes = setCustomSection(WAPC_LIKE, 'a', utf8('one'));
    bytes = concatBytes([bytes, encodeSection(0, concatBytes([encodeName('b'), utf8('keep')]))]);
    bytes = concatBytes([bytes, encodeSection(0, concatBytes([encodeName('a'), utf8('dup')]))]);
    const out = setCustomSection(bytes, 'a', utf8('replaced, and longer'));
    expect(
      parseModule(out).customSections.map((s) => [s.name, new TextDecoder().decode(s.bytes)]),
    ).toEqual([
      ['a', 'replaced, and longer'],
      ['b', 'keep'],
    ]);
    expect(WebAssembly.validate(out)).toBe(true);
    expect(parseModule(removeCustomSection(out, 'a')).customSections.map((s) => s.name)).toEqual([
      'b',
    ]);
  });
});

describe('renameImportModules', () => {
  it('renames only the imports asked for and keeps the module valid', () => {
    const bytes = wat(`(module
      (import "kubewarden:javy/host" "call" (func (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))))`);
    const out = renameImportModules(bytes, (i) =>
      i.module === 'kubewarden:javy/host' ? 'host' : undefined,
    );
    expect(parseModule(out).imports.map((i) => `${i.module}.${i.name}`)).toEqual([
      'host.call',
      'wasi_snapshot_preview1.proc_exit',
    ]);
    expect(WebAssembly.validate(out)).toBe(true);
    expect(renameImportModules(out, () => undefined)).toBe(out);
  });
});
