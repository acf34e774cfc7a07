import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import type { FieldError } from './errors.js';

/**
 * TypeBox violations as the field paths users know from kubectl (`spec.rules[0].operations`,
 * `anyOf.signatures[1].key: is required`), one per path: the first error of a path is the
 * one worth reading, the rest are its consequences. Every schema in Palisade reports this way.
 */
export function schemaErrors(schema: TSchema, value: unknown, prefix: string): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of Value.Errors(schema, value)) {
    const path = joinPath(prefix, e.path) || '(document)';
    if (seen.has(path)) continue;
    seen.add(path);
    out.push({ path, message: messageOf(e) });
  }
  return out;
}

function joinPath(prefix: string, pointer: string): string {
  let path = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const s = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(s)) path += `[${s}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(s)) path += path === '' ? s : `.${s}`;
    else path += `[${JSON.stringify(s)}]`;
  }
  return path;
}

function messageOf(e: ValueError): string {
  switch (e.type) {
    case ValueErrorType.Union: {
      const values = (e.schema.anyOf as TSchema[] | undefined)?.map((s) => s.const as unknown);
      if (values?.every((v) => typeof v === 'string') === true)
        return `must be one of ${values.join(', ')}`;
      return 'has an unexpected type';
    }
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not a known field';
    case ValueErrorType.Literal:
      return `must be ${String(e.schema['const'])}`;
    case ValueErrorType.Boolean:
      return 'must be a boolean (true or false)';
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.Array:
      return 'must be a list';
    case ValueErrorType.Object:
      return 'must be a map';
    case ValueErrorType.Integer:
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum: {
      const { minimum, maximum } = e.schema as { minimum?: number; maximum?: number };
      return `must be a whole number from ${String(minimum ?? '-∞')} to ${String(maximum ?? '∞')}`;
    }
    default:
      return e.message.toLowerCase();
  }
}
