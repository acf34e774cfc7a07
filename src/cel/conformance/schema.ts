import { TextProtoError, parseTextProto } from './textproto.js';
import type { TextField, TextMessage, TextValue } from './textproto.js';

/**
 * The slice of `cel.expr.conformance.test.SimpleTestFile` (and the `cel.expr` value, type and
 * declaration messages it embeds) that the runner needs, decoded from the generic text tree.
 * Anything the runner cannot represent is kept as an explicit variant (`object`, `enum`,
 * `message`) so the classifier can exclude it with a reason instead of dropping it.
 */

/** `cel.expr.Value`. */
export type ProtoValue =
  | { readonly kind: 'null' }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'uint'; readonly value: bigint }
  | { readonly kind: 'double'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly kind: 'enum'; readonly type: string; readonly value: number }
  | { readonly kind: 'object'; readonly typeUrl: string }
  | { readonly kind: 'list'; readonly values: readonly ProtoValue[] }
  | { readonly kind: 'map'; readonly entries: readonly (readonly [ProtoValue, ProtoValue])[] }
  | { readonly kind: 'type'; readonly value: string };

/** `cel.expr.Type`, reduced to what a declaration can express. */
export type ProtoType =
  | { readonly kind: 'dyn' }
  | { readonly kind: 'null' }
  | { readonly kind: 'primitive'; readonly name: string }
  | { readonly kind: 'wrapper'; readonly name: string }
  | { readonly kind: 'wellKnown'; readonly name: string }
  | { readonly kind: 'list'; readonly elem: ProtoType }
  | { readonly kind: 'map'; readonly key: ProtoType; readonly value: ProtoType }
  | { readonly kind: 'message'; readonly name: string }
  | { readonly kind: 'typeParam'; readonly name: string }
  | { readonly kind: 'type'; readonly of: ProtoType | undefined }
  | { readonly kind: 'abstract'; readonly name: string; readonly params: readonly ProtoType[] }
  | { readonly kind: 'function' }
  | { readonly kind: 'error' };

/** `cel.expr.Decl`: identifiers carry a type; function declarations are only noted. */
export type ProtoDecl =
  | { readonly kind: 'ident'; readonly name: string; readonly type: ProtoType }
  | { readonly kind: 'function'; readonly name: string };

/** `cel.expr.ExprValue` as a binding. */
export type ProtoBinding =
  | { readonly kind: 'value'; readonly value: ProtoValue }
  | { readonly kind: 'error' }
  | { readonly kind: 'unknown' };

/** The `result_matcher` oneof; `none` means the test expects `true`. */
export type ResultMatcher =
  | { readonly kind: 'value'; readonly value: ProtoValue }
  | {
      readonly kind: 'typed';
      readonly value: ProtoValue | undefined;
      readonly deducedType: ProtoType | undefined;
    }
  | { readonly kind: 'evalError' }
  | { readonly kind: 'anyEvalErrors' }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'none' };

export interface SimpleTest {
  readonly name: string;
  readonly expr: string;
  readonly disableMacros: boolean;
  readonly disableCheck: boolean;
  readonly checkOnly: boolean;
  readonly container: string;
  readonly typeEnv: readonly ProtoDecl[];
  readonly bindings: ReadonlyMap<string, ProtoBinding>;
  readonly matcher: ResultMatcher;
}

export interface SimpleTestSection {
  readonly name: string;
  readonly tests: readonly SimpleTest[];
}

export interface SimpleTestFile {
  readonly name: string;
  readonly sections: readonly SimpleTestSection[];
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function all(msg: TextMessage, name: string): TextValue[] {
  return msg.fields.filter((f) => f.name === name).map((f) => f.value);
}

function one(msg: TextMessage, name: string): TextValue | undefined {
  return all(msg, name).at(-1);
}

function asMessage(v: TextValue | undefined, what: string): TextMessage {
  if (v?.kind !== 'message') throw new TextProtoError(`${what} must be a message`, 0);
  return v.message;
}

function str(msg: TextMessage, name: string): string {
  const v = one(msg, name);
  if (v === undefined) return '';
  if (v.kind !== 'string') throw new TextProtoError(`${name} must be a string`, 0);
  return utf8.decode(v.bytes);
}

function scalar(v: TextValue, what: string): string {
  if (v.kind !== 'scalar') throw new TextProtoError(`${what} must be a scalar`, 0);
  return v.text;
}

function bool(msg: TextMessage, name: string): boolean {
  const v = one(msg, name);
  return v !== undefined && ['true', 't', '1', 'True'].includes(scalar(v, name));
}

function parseDouble(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (lower === 'nan') return NaN;
  // Text format allows a float suffix: `1.5f`.
  return Number(/^[-+]?[0-9.]+(?:e[-+]?[0-9]+)?f$/.test(lower) ? lower.slice(0, -1) : lower);
}

/** The first set field of a oneof-shaped message: its name and value. */
function oneofField(msg: TextMessage): TextField | undefined {
  return msg.fields[0];
}

export function decodeValue(msg: TextMessage): ProtoValue {
  const field = oneofField(msg);
  if (!field) throw new TextProtoError('empty cel.expr.Value', 0);
  const v = field.value;
  switch (field.name) {
    case 'null_value':
      return { kind: 'null' };
    case 'bool_value':
      return { kind: 'bool', value: scalar(v, field.name) === 'true' };
    case 'int64_value':
      return { kind: 'int', value: BigInt(scalar(v, field.name)) };
    case 'uint64_value':
      return { kind: 'uint', value: BigInt(scalar(v, field.name)) };
    case 'double_value':
      return { kind: 'double', value: parseDouble(scalar(v, field.name)) };
    case 'string_value':
      return { kind: 'string', value: str(msg, field.name) };
    case 'bytes_value':
      if (v.kind !== 'string') throw new TextProtoError('bytes_value must be a string', 0);
      return { kind: 'bytes', value: v.bytes };
    case 'enum_value': {
      const m = asMessage(v, field.name);
      const num = one(m, 'value');
      return { kind: 'enum', type: str(m, 'type'), value: num ? Number(scalar(num, 'value')) : 0 };
    }
    case 'object_value': {
      const m = asMessage(v, field.name);
      const url = m.fields[0]?.name ?? str(m, 'type_url');
      return { kind: 'object', typeUrl: url.replace(/^\[|\]$/g, '') };
    }
    case 'list_value':
      return {
        kind: 'list',
        values: all(asMessage(v, field.name), 'values').map((e) =>
          decodeValue(asMessage(e, 'values')),
        ),
      };
    case 'map_value':
      return {
        kind: 'map',
        entries: all(asMessage(v, field.name), 'entries').map((e) => {
          const entry = asMessage(e, 'entries');
          return [
            decodeValue(asMessage(one(entry, 'key'), 'key')),
            decodeValue(asMessage(one(entry, 'value'), 'value')),
          ] as const;
        }),
      };
    case 'type_value':
      return { kind: 'type', value: str(msg, field.name) };
    default:
      throw new TextProtoError(`unknown cel.expr.Value field ${field.name}`, 0);
  }
}

export function decodeType(msg: TextMessage): ProtoType {
  const field = oneofField(msg);
  if (!field) return { kind: 'dyn' };
  const v = field.value;
  switch (field.name) {
    case 'dyn':
      return { kind: 'dyn' };
    case 'null':
      return { kind: 'null' };
    case 'primitive':
      return { kind: 'primitive', name: scalar(v, field.name) };
    case 'wrapper':
      return { kind: 'wrapper', name: scalar(v, field.name) };
    case 'well_known':
      return { kind: 'wellKnown', name: scalar(v, field.name) };
    case 'list_type':
      return {
        kind: 'list',
        elem: decodeType(asMessage(one(asMessage(v, 'list_type'), 'elem_type'), 'elem_type')),
      };
    case 'map_type': {
      const m = asMessage(v, field.name);
      return {
        kind: 'map',
        key: decodeType(asMessage(one(m, 'key_type'), 'key_type')),
        value: decodeType(asMessage(one(m, 'value_type'), 'value_type')),
      };
    }
    case 'message_type':
      return { kind: 'message', name: str(msg, field.name) };
    case 'type_param':
      return { kind: 'typeParam', name: str(msg, field.name) };
    case 'type': {
      const inner = asMessage(v, field.name);
      return { kind: 'type', of: inner.fields.length > 0 ? decodeType(inner) : undefined };
    }
    case 'abstract_type': {
      const m = asMessage(v, field.name);
      return {
        kind: 'abstract',
        name: str(m, 'name'),
        params: all(m, 'parameter_types').map((p) => decodeType(asMessage(p, 'parameter_types'))),
      };
    }
    case 'function':
      return { kind: 'function' };
    case 'error':
      return { kind: 'error' };
    default:
      throw new TextProtoError(`unknown cel.expr.Type field ${field.name}`, 0);
  }
}

function decodeDecl(msg: TextMessage): ProtoDecl {
  const name = str(msg, 'name');
  const ident = one(msg, 'ident');
  if (ident === undefined) return { kind: 'function', name };
  const type = one(asMessage(ident, 'ident'), 'type');
  return {
    kind: 'ident',
    name,
    type: type ? decodeType(asMessage(type, 'type')) : { kind: 'dyn' },
  };
}

function decodeBinding(msg: TextMessage): ProtoBinding {
  const field = oneofField(msg);
  if (field?.name === 'value')
    return { kind: 'value', value: decodeValue(asMessage(field.value, 'value')) };
  if (field?.name === 'error') return { kind: 'error' };
  return { kind: 'unknown' };
}

function decodeMatcher(msg: TextMessage): ResultMatcher {
  for (const field of msg.fields) {
    switch (field.name) {
      case 'value':
        return { kind: 'value', value: decodeValue(asMessage(field.value, 'value')) };
      case 'typed_result': {
        const m = asMessage(field.value, field.name);
        const result = one(m, 'result');
        const deduced = one(m, 'deduced_type');
        return {
          kind: 'typed',
          value: result ? decodeValue(asMessage(result, 'result')) : undefined,
          deducedType: deduced ? decodeType(asMessage(deduced, 'deduced_type')) : undefined,
        };
      }
      case 'eval_error':
        return { kind: 'evalError' };
      case 'any_eval_errors':
        return { kind: 'anyEvalErrors' };
      case 'unknown':
      case 'any_unknowns':
        return { kind: 'unknown' };
      default:
        break;
    }
  }
  return { kind: 'none' };
}

function decodeTest(msg: TextMessage): SimpleTest {
  const bindings = new Map<string, ProtoBinding>();
  for (const b of all(msg, 'bindings')) {
    const entry = asMessage(b, 'bindings');
    bindings.set(str(entry, 'key'), decodeBinding(asMessage(one(entry, 'value'), 'value')));
  }
  return {
    name: str(msg, 'name'),
    expr: str(msg, 'expr'),
    disableMacros: bool(msg, 'disable_macros'),
    disableCheck: bool(msg, 'disable_check'),
    checkOnly: bool(msg, 'check_only'),
    container: str(msg, 'container'),
    typeEnv: all(msg, 'type_env').map((d) => decodeDecl(asMessage(d, 'type_env'))),
    bindings,
    matcher: decodeMatcher(msg),
  };
}

/** Parses and decodes one `*.textproto` test file. */
export function loadSimpleTestFile(src: string): SimpleTestFile {
  const root = parseTextProto(src);
  return {
    name: str(root, 'name'),
    sections: all(root, 'section').map((s) => {
      const section = asMessage(s, 'section');
      return {
        name: str(section, 'name'),
        tests: all(section, 'test').map((t) => decodeTest(asMessage(t, 'test'))),
      };
    }),
  };
}
