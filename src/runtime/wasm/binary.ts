import { ByteReader, malformedAt } from './byte-reader.js';

/**
 * A reader of the WebAssembly core binary format (spec §5) that goes only as deep as
 * loading a policy needs: sections, custom sections, imports, exports and memories. Code
 * is not decoded, so reading is cheap even for 10 MB modules and works for any feature
 * the module uses. Anything this reader cannot make sense of is a `module_invalid` error
 * naming the byte offset, before V8 or binaryen see the bytes.
 */

export type ExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';

/** Limits of a memory, in 64 KiB pages. */
export interface MemoryLimits {
  readonly initial: number;
  readonly maximum?: number;
  readonly shared: boolean;
  readonly memory64: boolean;
}

/** A memory's limits and where they are encoded, so that a writer can patch them in place. */
export interface MemoryType extends MemoryLimits {
  /** Offset of the limits' flags byte. */
  readonly offset: number;
  /** Bytes the limits take (flags and LEB128 values). */
  readonly length: number;
}

export interface WasmImport {
  readonly module: string;
  readonly name: string;
  readonly kind: ExternKind;
  /** Present for memory imports. */
  readonly memory?: MemoryType;
}

export interface WasmExport {
  readonly name: string;
  readonly kind: ExternKind;
  readonly index: number;
}

export interface WasmSection {
  /** Section id (0 custom, 1 type, 2 import ... 13 tag). */
  readonly id: number;
  /** Offset of the id byte. */
  readonly offset: number;
  /** Offset of the first content byte, after the size. */
  readonly contentOffset: number;
  readonly size: number;
  /** For custom sections, their name. */
  readonly name?: string;
}

export interface CustomSection {
  readonly name: string;
  /** The payload after the name; a view into the parsed bytes, not a copy. */
  readonly bytes: Uint8Array;
  readonly offset: number;
}

export interface WasmModuleInfo {
  readonly sections: readonly WasmSection[];
  readonly customSections: readonly CustomSection[];
  readonly imports: readonly WasmImport[];
  readonly exports: readonly WasmExport[];
  /** Memories the module defines (its memory section), in index order after imported ones. */
  readonly memories: readonly MemoryType[];
}

export const SECTION_NAMES: Readonly<Record<number, string>> = {
  0: 'custom',
  1: 'type',
  2: 'import',
  3: 'function',
  4: 'table',
  5: 'memory',
  6: 'global',
  7: 'export',
  8: 'start',
  9: 'element',
  10: 'code',
  11: 'data',
  12: 'datacount',
  13: 'tag',
};

/** Position of each non-custom section in the order the spec requires (tag and datacount sit between others). */
const SECTION_ORDER: Readonly<Record<number, number>> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  13: 6,
  6: 7,
  7: 8,
  8: 9,
  9: 10,
  12: 11,
  10: 12,
  11: 13,
};

const KINDS: readonly ExternKind[] = ['function', 'table', 'memory', 'global', 'tag'];

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** Reads the structure of a core module; throws `module_invalid` naming the offset of the first problem. */
export function parseModule(bytes: Uint8Array): WasmModuleInfo {
  checkHeader(bytes);
  const sections: WasmSection[] = [];
  const customSections: CustomSection[] = [];
  let imports: WasmImport[] = [];
  let exports: WasmExport[] = [];
  let memories: MemoryType[] = [];
  const reader = new ByteReader(bytes, 8);
  let lastRank = 0;
  while (!reader.done) {
    const offset = reader.offset;
    const id = reader.byte('section id');
    const size = reader.u32('section size');
    const contentOffset = reader.offset;
    if (size > bytes.length - contentOffset) {
      throw malformedAt(
        offset,
        `${SECTION_NAMES[id] ?? 'unknown'} section is truncated: it declares ${size} bytes, ${bytes.length - contentOffset} remain`,
      );
    }
    const content = new ByteReader(bytes, contentOffset, contentOffset + size);
    if (id === 0) {
      const name = content.name('custom section name');
      sections.push({ id, offset, contentOffset, size, name });
      customSections.push({ name, bytes: content.take(content.end - content.offset), offset });
    } else {
      const rank = SECTION_ORDER[id];
      if (rank === undefined) throw malformedAt(offset, `unknown section id ${id}`);
      if (rank <= lastRank)
        throw malformedAt(
          offset,
          `${SECTION_NAMES[id] ?? ''} section is duplicated or out of order`,
        );
      lastRank = rank;
      sections.push({ id, offset, contentOffset, size });
      if (id === 2) imports = readImports(content);
      else if (id === 7) exports = readExports(content);
      else if (id === 5) memories = readVector(content, 'memory', () => readMemoryType(content));
      if ((id === 2 || id === 5 || id === 7) && !content.done)
        throw content.malformed(`${SECTION_NAMES[id] ?? ''} section has trailing bytes`);
    }
    reader.take(size);
  }
  return { sections, customSections, imports, exports, memories };
}

/** The payload of the first custom section called `name`, as Kubewarden reads metadata. */
export function findCustomSection(info: WasmModuleInfo, name: string): Uint8Array | undefined {
  return info.customSections.find((s) => s.name === name)?.bytes;
}

function checkHeader(bytes: Uint8Array): void {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw malformedAt(0, 'not a WebAssembly module (the file does not start with "\\0asm")');
  }
  const version = bytes.subarray(4, 8);
  if (version[0] === 1 && version[1] === 0 && version[2] === 0 && version[3] === 0) return;
  if (version[2] === 1 && version[3] === 0) {
    throw malformedAt(
      4,
      'this is a WebAssembly component (layer 1), not a core module; Kubewarden policies are core modules',
    );
  }
  throw malformedAt(4, `unsupported binary version ${Array.from(version).join('.')}`);
}

export function readVector<T>(reader: ByteReader, what: string, item: (index: number) => T): T[] {
  const count = reader.u32(`${what} count`);
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(item(i));
  return out;
}

/** An import and where its encoding lies, for writers that rewrite the import section. */
export interface ImportEntry {
  readonly import: WasmImport;
  readonly start: number;
  /** End of the encoded module name, where the field name starts. */
  readonly moduleEnd: number;
  readonly end: number;
}

/** Reads the import section's content (count and entries). */
export function readImportEntries(reader: ByteReader): ImportEntry[] {
  return readVector(reader, 'import', () => {
    const start = reader.offset;
    const module = reader.name('import module name');
    const moduleEnd = reader.offset;
    const imported = readImportRest(reader, module);
    return { import: imported, start, moduleEnd, end: reader.offset };
  });
}

function readImports(reader: ByteReader): WasmImport[] {
  return readImportEntries(reader).map((e) => e.import);
}

function readImportRest(reader: ByteReader, module: string): WasmImport {
  const name = reader.name('import name');
  const kindOffset = reader.offset;
  const kind = KINDS[reader.byte('import kind')];
  switch (kind) {
    case 'function':
      reader.u32('type index');
      return { module, name, kind };
    case 'table':
      skipValueType(reader);
      readLimits(reader, 'table');
      return { module, name, kind };
    case 'memory':
      return { module, name, kind, memory: readMemoryType(reader) };
    case 'global':
      skipValueType(reader);
      reader.byte('global mutability');
      return { module, name, kind };
    case 'tag':
      reader.byte('tag attribute');
      reader.u32('tag type index');
      return { module, name, kind };
    default:
      throw reader.malformed(
        `unsupported import kind 0x${(reader.bytes[kindOffset] ?? 0).toString(16)} for "${module}"."${name}"`,
        kindOffset,
      );
  }
}

function readExports(reader: ByteReader): WasmExport[] {
  return readVector(reader, 'export', () => {
    const name = reader.name('export name');
    const kindOffset = reader.offset;
    const kind = KINDS[reader.byte('export kind')];
    if (kind === undefined) throw reader.malformed(`unknown export kind for "${name}"`, kindOffset);
    return { name, kind, index: reader.u32('export index') };
  });
}

export function readMemoryType(reader: ByteReader): MemoryType {
  const offset = reader.offset;
  const limits = readLimits(reader, 'memory');
  return { ...limits, offset, length: reader.offset - offset };
}

/** Limits flags: bit 0 has-maximum, bit 1 shared, bit 2 64-bit, bit 3 custom page size. */
function readLimits(reader: ByteReader, what: string): MemoryLimits {
  const flagsOffset = reader.offset;
  const flags = reader.byte(`${what} limits flags`);
  if (flags > 0x07) {
    throw reader.malformed(
      flags & 0x08
        ? `${what} uses custom page sizes, which Node.js does not support`
        : `invalid ${what} limits flags 0x${flags.toString(16)}`,
      flagsOffset,
    );
  }
  const memory64 = (flags & 0x04) !== 0;
  const value = (label: string) => (memory64 ? reader.u64(label) : reader.u32(label));
  const initial = value(`${what} initial size`);
  const limits = { initial, shared: (flags & 0x02) !== 0, memory64 };
  if ((flags & 0x01) === 0) return limits;
  const maximum = value(`${what} maximum size`);
  if (maximum < initial)
    throw reader.malformed(`${what} maximum ${maximum} is below its initial size ${initial}`);
  return { ...limits, maximum };
}

const NUMERIC_AND_ABSTRACT_TYPES = new Set([
  0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x6e, 0x6d, 0x6c, 0x6b, 0x6a, 0x69, 0x68, 0x71, 0x72,
  0x73, 0x74, 0x75,
]);

function skipValueType(reader: ByteReader): void {
  const offset = reader.offset;
  const b = reader.byte('value type');
  if (NUMERIC_AND_ABSTRACT_TYPES.has(b)) return;
  if (b === 0x63 || b === 0x64) {
    reader.skipSigned('heap type');
    return;
  }
  throw reader.malformed(`unknown value type 0x${b.toString(16)}`, offset);
}
