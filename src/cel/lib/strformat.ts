import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import {
  celError,
  compareStrings,
  isCelStringable,
  isListValue,
  isMapValue,
  toArray,
  typeName,
} from './values.js';

/**
 * cel-go's `string.format(list)` (ext.Strings v2+): printf-style clauses `%s %d %f %e %x %X %o
 * %b` with optional precision, and `%%`. Values are rendered as cel-go renders them, which
 * differs from JavaScript's `String()` for doubles, bytes, lists, maps and timestamps.
 */

function formatDouble(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return String(v).replace(/e([+-])(\d)$/, 'e$10$2');
}

function formatTimestamp(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

/** `%s` rendering of any CEL value (cel-go's string clause). */
export function formatString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return formatDouble(v);
  if (v === null) return 'null';
  if (v instanceof UnsignedInt) return v.toString();
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (v instanceof Date) return formatTimestamp(v);
  if (v instanceof Duration) return v.toString();
  if (isListValue(v)) return `[${toArray(v).map(formatString).join(', ')}]`;
  if (isMapValue(v)) {
    const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
    const rendered = entries.map(([k, x]) => [formatString(k), formatString(x)] as const);
    rendered.sort((a, b) => compareStrings(a[0], b[0]));
    return `{${rendered.map(([k, x]) => `${k}: ${x}`).join(', ')}}`;
  }
  if (isCelStringable(v)) return v.celString();
  throw celError(`error during formatting: no formatting function for ${typeName(v)}`);
}

function integerValue(v: unknown, clause: string): bigint {
  if (typeof v === 'bigint') return v;
  if (v instanceof UnsignedInt) return v.valueOf();
  throw celError(
    `error during formatting: ${clause} clause can only be used on integers, was given ${typeName(v)}`,
  );
}

function numberValue(v: unknown, clause: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof UnsignedInt) return Number(v.valueOf());
  throw celError(
    `error during formatting: ${clause} clause can only be used on doubles, was given ${typeName(v)}`,
  );
}

function fixed(v: unknown, precision: number): string {
  const n = numberValue(v, 'fixed-point');
  if (!Number.isFinite(n)) return formatDouble(n);
  return n.toFixed(precision);
}

function scientific(v: unknown, precision: number): string {
  const n = numberValue(v, 'scientific');
  if (!Number.isFinite(n)) return formatDouble(n);
  return n.toExponential(precision).replace(/e([+-])(\d)$/, 'e$10$2');
}

function radix(v: unknown, base: number, clause: string): string {
  if (base === 16 && typeof v === 'string') return Buffer.from(v, 'utf8').toString('hex');
  if (base === 16 && v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  const n = integerValue(v, clause);
  return n < 0n ? `-${(-n).toString(base)}` : n.toString(base);
}

function decimal(v: unknown): string {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  }
  return integerValue(v, 'decimal').toString();
}

function formatClause(verb: string, precision: number | undefined, arg: unknown): string {
  switch (verb) {
    case 's':
      return formatString(arg);
    case 'd':
      return decimal(arg);
    case 'f':
      return fixed(arg, precision ?? 6);
    case 'e':
      return scientific(arg, precision ?? 6);
    case 'x':
      return radix(arg, 16, 'hexadecimal');
    case 'X':
      return radix(arg, 16, 'hexadecimal').toUpperCase();
    case 'o':
      return radix(arg, 8, 'octal');
    case 'b':
      if (typeof arg === 'boolean') return arg ? '1' : '0';
      return radix(arg, 2, 'binary');
    default:
      throw celError(`could not parse formatting clause: unrecognized formatting clause "${verb}"`);
  }
}

/** Applies the format string to the argument list. */
export function formatStringWith(format: string, argsList: unknown): string {
  const args = toArray(argsList);
  let out = '';
  let next = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%') {
      out += c ?? '';
      continue;
    }
    if (format[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    const m = /^(?:\.([0-9]+))?(.)?/.exec(format.slice(i + 1));
    const verb = m?.[2];
    if (verb === undefined)
      throw celError('could not parse formatting clause: unexpected end of string');
    const precision = m?.[1] === undefined ? undefined : Number(m[1]);
    if (next >= args.length) throw celError(`index ${next} out of range`);
    out += formatClause(verb, precision, args[next++]);
    i += m?.[0].length ?? 0;
  }
  return out;
}
