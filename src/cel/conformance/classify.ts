import type { ProtoBinding, ProtoType, ProtoValue, SimpleTest } from './schema.js';

/**
 * Decides which tests are "JSON-only" (cel.md §2): runnable without protobuf message types.
 * Kubernetes inputs are JSON, so tests that need `TestAllTypes`, `google.protobuf.*` message
 * literals or wrappers, message/enum values, or the checker's type deduction say nothing about
 * Palisade and are excluded, each with the reason, rather than counted as failures.
 */

/** Files whose tests exercise the type checker's deduced types, not evaluation. */
const CHECKER_FILES = new Set(['type_deduction']);

/** Message and enum names of the conformance protos. */
const CONFORMANCE_TYPES =
  /\b(?:TestAllTypes|TestRequired|NestedTestAllTypes|NestedMessage|NestedEnum|GlobalEnum|ImportedGlobalEnum)\b/;

/** A `google.protobuf` type other than the two CEL treats as built-in (timestamp, duration). */
const PROTOBUF_TYPE =
  /\bgoogle\.protobuf\.(?!Timestamp\b|Duration\b)\w+|\bgoogle\.protobuf\.\w+\s*\{/;

/** An unqualified message literal inside a container, e.g. `Int32Value{value: 1}`. */
const MESSAGE_LITERAL =
  /\b(?:Int32Value|Int64Value|UInt32Value|UInt64Value|FloatValue|DoubleValue|BoolValue|StringValue|BytesValue|Any|Value|ListValue|Struct|Timestamp|Duration|Empty|FieldMask|NullValue)\s*\{/;

/** Removes quoted literals so names inside strings do not count as type references. */
function stripStrings(expr: string): string {
  return expr.replace(/'''[\s\S]*?'''|"""[\s\S]*?"""|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"/g, "''");
}

function valueProblem(v: ProtoValue): string | undefined {
  switch (v.kind) {
    case 'object':
      return `protobuf message value (${v.typeUrl})`;
    case 'enum':
      return `proto enum value (${v.type})`;
    case 'type':
      return CONFORMANCE_TYPES.test(v.value) || PROTOBUF_TYPE.test(v.value)
        ? `protobuf type value (${v.value})`
        : undefined;
    case 'list':
      return v.values.map(valueProblem).find((p) => p !== undefined);
    case 'map':
      return v.entries
        .flatMap(([k, e]) => [valueProblem(k), valueProblem(e)])
        .find((p) => p !== undefined);
    case 'null':
    case 'bool':
    case 'int':
    case 'uint':
    case 'double':
    case 'string':
    case 'bytes':
      return undefined;
  }
}

function typeProblem(t: ProtoType): string | undefined {
  switch (t.kind) {
    case 'message':
      return `protobuf message type (${t.name})`;
    case 'wrapper':
      return `protobuf wrapper type (${t.name})`;
    case 'wellKnown':
      return t.name === 'ANY' ? 'google.protobuf.Any type' : undefined;
    case 'list':
      return typeProblem(t.elem);
    case 'map':
      return typeProblem(t.key) ?? typeProblem(t.value);
    case 'type':
      return t.of ? typeProblem(t.of) : undefined;
    case 'abstract':
      return t.params.map(typeProblem).find((p) => p !== undefined);
    case 'dyn':
    case 'null':
    case 'primitive':
    case 'typeParam':
    case 'function':
    case 'error':
      return undefined;
  }
}

function bindingProblem(b: ProtoBinding): string | undefined {
  if (b.kind === 'value') return valueProblem(b.value);
  return `${b.kind} binding`;
}

/** Returns why a test is not JSON-only, or undefined when the runner should evaluate it. */
export function exclusionReason(fileName: string, test: SimpleTest): string | undefined {
  if (CHECKER_FILES.has(fileName)) return 'type-checker deduction test';
  if (test.matcher.kind === 'unknown') return 'unknown-set result';
  if (test.matcher.kind === 'typed' || test.checkOnly) return 'type-checker result';
  const expr = stripStrings(test.expr);
  if (CONFORMANCE_TYPES.test(expr)) return 'needs conformance proto types (TestAllTypes/enums)';
  if (PROTOBUF_TYPE.test(expr) || MESSAGE_LITERAL.test(expr))
    return 'needs google.protobuf message types';
  for (const decl of test.typeEnv) {
    if (decl.kind !== 'ident') continue;
    const problem = typeProblem(decl.type);
    if (problem !== undefined) return `declares ${problem}`;
  }
  for (const binding of test.bindings.values()) {
    const problem = bindingProblem(binding);
    if (problem !== undefined) return `binding: ${problem}`;
  }
  if (test.matcher.kind === 'value') {
    const problem = valueProblem(test.matcher.value);
    if (problem !== undefined) return `result: ${problem}`;
  }
  return undefined;
}
