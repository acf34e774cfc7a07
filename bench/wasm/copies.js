// A module that differs from `base` only by a custom section, so no two copies share a digest
// (nothing is shared by the runtime's per-digest cache): the worst case for memory.
export function distinctCopy(base, i) {
  const name = new TextEncoder().encode(`palisade-bench-${i}`);
  const section = new Uint8Array([0x00, name.length + 1, name.length, ...name]);
  const bytes = new Uint8Array(base.length + section.length);
  bytes.set(base);
  bytes.set(section, base.length);
  return bytes;
}
