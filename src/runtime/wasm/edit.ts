import { parseModule, readImportEntries, type WasmImport } from './binary.js';
import { ByteReader } from './byte-reader.js';
import {
  applySplices,
  concatBytes,
  encodeName,
  encodeSection,
  u32Leb,
  type Splice,
} from './byte-writer.js';

/**
 * Writers that change a module without decoding its code: byte ranges are copied as they
 * are, so everything else (code, names, DWARF, unknown custom sections) stays byte-identical.
 */

const EMPTY = new Uint8Array(0);

/**
 * Sets the custom section `name` to `content`. The first section of that name is replaced
 * in place and any later duplicate dropped, because readers (Kubewarden's included) take
 * the first one and a stale duplicate would confuse other tools; a new section goes last.
 */
export function setCustomSection(bytes: Uint8Array, name: string, content: Uint8Array): Uint8Array {
  const section = encodeSection(0, concatBytes([encodeName(name), content]));
  const same = customSectionsNamed(bytes, name);
  if (same.length === 0) return concatBytes([bytes, section]);
  return applySplices(
    bytes,
    same.map((s, i) => ({ ...s, bytes: i === 0 ? section : EMPTY })),
  );
}

/** Drops every custom section called `name` (no-op when there is none). */
export function removeCustomSection(bytes: Uint8Array, name: string): Uint8Array {
  const same = customSectionsNamed(bytes, name);
  if (same.length === 0) return bytes;
  return applySplices(
    bytes,
    same.map((s) => ({ ...s, bytes: EMPTY })),
  );
}

function customSectionsNamed(bytes: Uint8Array, name: string): Omit<Splice, 'bytes'>[] {
  return parseModule(bytes)
    .sections.filter((s) => s.id === 0 && s.name === name)
    .map((s) => ({ start: s.offset, end: s.contentOffset + s.size }));
}

/**
 * Renames the module of imports for which `rename` answers a new name (kwctl annotate
 * turns Javy's `kubewarden:javy/host` into `host`). Returns the input when nothing changes.
 */
export function renameImportModules(
  bytes: Uint8Array,
  rename: (imported: WasmImport) => string | undefined,
): Uint8Array {
  const section = parseModule(bytes).sections.find((s) => s.id === 2);
  if (!section) return bytes;
  const reader = new ByteReader(bytes, section.contentOffset, section.contentOffset + section.size);
  const entries = readImportEntries(reader);
  const renamed = entries.map((e) => {
    const to = rename(e.import);
    return to === undefined || to === e.import.module ? undefined : to;
  });
  if (renamed.every((to) => to === undefined)) return bytes;
  const parts = entries.map((e, i) => {
    const to = renamed[i];
    if (to === undefined) return bytes.subarray(e.start, e.end);
    return concatBytes([encodeName(to), bytes.subarray(e.moduleEnd, e.end)]);
  });
  const content = concatBytes([u32Leb(entries.length), ...parts]);
  return applySplices(bytes, [
    {
      start: section.offset,
      end: section.contentOffset + section.size,
      bytes: encodeSection(2, content),
    },
  ]);
}
