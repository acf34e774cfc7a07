import type { AstNode } from './ast-node.js';

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  '\\': 0x5c,
  '?': 0x3f,
  '"': 0x22,
  "'": 0x27,
  '`': 0x60,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
};

/**
 * Decodes the body of a (non-raw) bytes literal as cel-go does: escapes denote single bytes,
 * every other character stands for its UTF-8 encoding (cel-js keeps only its low byte).
 */
export function decodeBytesLiteralBody(body: string): Uint8Array {
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < body.length;) {
    const ch = body[i] ?? '';
    if (ch !== '\\') {
      const cp = body.codePointAt(i) ?? 0;
      const s = String.fromCodePoint(cp);
      out.push(...encoder.encode(s));
      i += s.length;
      continue;
    }
    const next = body[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      out.push(simple);
      i += 2;
    } else if (next === 'x' || next === 'X') {
      out.push(Number.parseInt(body.slice(i + 2, i + 4), 16));
      i += 4;
    } else {
      out.push(Number.parseInt(body.slice(i + 1, i + 4), 8));
      i += 4;
    }
  }
  return Uint8Array.from(out);
}

/** Re-decodes a bytes literal from its source text; cel-js truncates non-ASCII characters. */
export function fixBytesLiteral(node: AstNode): void {
  if (!(node.args instanceof Uint8Array) || typeof node.input !== 'string') return;
  const text = node.input.slice(node.start, node.end);
  const m = /^[bB](?:'''([\s\S]*)'''|"""([\s\S]*)"""|'([\s\S]*)'|"([\s\S]*)")$/.exec(text);
  if (!m) return;
  const body = m[1] ?? m[2] ?? m[3] ?? m[4] ?? '';
  // cel-js has validated the escapes; only text with non-ASCII characters decodes differently.
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(body)) return;
  node.args = decodeBytesLiteralBody(body);
}
