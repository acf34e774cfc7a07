import type { Environment } from '@marcbachmann/cel-js';
import { registerNamespace } from './namespace.js';
import { formatStringWith } from './strformat.js';
import { celError, codePoints, fn, toIndex } from './values.js';

/*
 * cel-go ext.Strings functions that cel-js lacks. Indexes count code points, as cel-go counts
 * runes. cel-js already provides indexOf, lastIndexOf, split, substring, trim, join,
 * lowerAscii and upperAscii; its versions are kept (see the report in the lib index).
 */

function charAt(s: string, i: bigint): string {
  const runes = codePoints(s);
  const idx = toIndex(i);
  if (idx < 0 || idx > runes.length) throw celError(`index out of range: ${i}`);
  return runes[idx] ?? '';
}

/** Go `strings.Replace`: at most `n` replacements (all when negative); `''` matches per rune. */
function replace(s: string, from: string, to: string, n: bigint): string {
  if (n === 0n || (from === to && from !== '')) return s;
  let remaining = n < 0n ? Infinity : toIndex(n);
  if (from === '') {
    const runes = codePoints(s);
    let out = '';
    for (let i = 0; i <= runes.length; i++) {
      if (remaining > 0) {
        out += to;
        remaining--;
      }
      out += runes[i] ?? '';
    }
    return out;
  }
  let out = '';
  let pos = 0;
  while (remaining > 0) {
    const hit = s.indexOf(from, pos);
    if (hit < 0) break;
    out += s.slice(pos, hit) + to;
    pos = hit + from.length;
    remaining--;
  }
  return out + s.slice(pos);
}

/** Go `strconv.Quote` as cel-go's `strings.quote` uses it (invalid UTF-8 cannot occur in JS). */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
      default:
        break;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return `${out}"`;
}

/** cel-go ext.Strings (version 3) functions missing from cel-js. */
export function registerStringsLibrary(env: Environment): void {
  fn(env, 'string.charAt(int): string', charAt);
  fn(env, 'string.replace(string, string): string', (s: string, a: string, b: string) =>
    replace(s, a, b, -1n),
  );
  fn(env, 'string.replace(string, string, int): string', replace);
  fn(env, 'string.format(list): string', formatStringWith);
  fn(env, 'string.reverse(): string', (s: string) => codePoints(s).reverse().join(''));
  const ns = registerNamespace(env, 'strings');
  fn(env, `${ns}.quote(string): string`, (_: unknown, s: string) => quote(s));
}
