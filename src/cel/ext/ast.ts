import { Environment, EvaluationError, Optional } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import type { CelType } from './macro-api.js';

/**
 * A post-parse pass over cel-js ASTs that corrects core-language deviations cel-js's public
 * registration API cannot reach (its built-in operators and the receiver-less `has()` macro
 * cannot be re-registered). It only uses what every cel-js AST node exposes — `op`, `args`,
 * `meta` and `setMeta('check' | 'evaluate' | 'macro', …)` — and wraps the node's own check or
 * evaluation, so the library's behaviour is kept wherever it is already right.
 *
 * Must run on every parsed expression before it is type-checked or evaluated:
 * `transformAst(env.parse(expr).ast)`.
 */

/** The checker methods the wrappers use (a cel-js `TypeChecker`). */
export interface AstChecker {
  check(ast: AstNode, ctx: unknown): CelType;
  getType(name: string): CelType;
  createError(code: string, message: string, node?: AstNode): Error;
  readonly registry: {
    getListType(elem: CelType): CelType;
    getMapType(key: CelType, value: CelType): CelType;
    getOptionalType(elem: CelType): CelType;
  };
}

/** The evaluator methods the wrappers use (a cel-js `Evaluator`). */
export interface AstEvaluator {
  run(ast: AstNode, ctx: unknown): unknown;
  debugType(v: unknown): CelType & {
    fieldLazy(obj: unknown, key: unknown, ast: AstNode, ev: AstEvaluator): unknown;
  };
  readonly registry: {
    findBinaryOverload(
      op: string,
      left: CelType,
      right: CelType,
    ): { handler(a: unknown, b: unknown, ast: AstNode, ev: AstEvaluator): unknown } | false;
  };
}

type CheckFn = (chk: AstChecker, ast: AstNode, ctx: unknown) => CelType;
type EvaluateFn = (ev: AstEvaluator, ast: AstNode, ctx: unknown) => unknown;
type Handle = (...args: unknown[]) => unknown;

interface AstMacro {
  typeCheck(chk: AstChecker, macro: AstMacro, ctx: unknown): CelType;
  evaluate(ev: AstEvaluator, macro: AstMacro, ctx: unknown): unknown;
}

interface AstMeta {
  readonly check: CheckFn;
  readonly evaluate: EvaluateFn;
  readonly alternate?: AstNode;
  readonly macro?: AstMacro;
}

/** A cel-js `ASTNode` (the class is not exported). */
export interface AstNode {
  readonly op: string;
  args: unknown;
  readonly input: string;
  readonly start: number;
  readonly end: number;
  checkedType?: CelType;
  handle?: Handle;
  readonly meta: AstMeta;
  setMeta(key: string, value: unknown): AstNode;
}

export interface TransformOptions {
  /**
   * Emulates cel-go without its type checker (cel-spec's `disable_check`): every expression is
   * statically `dyn`, so operators dispatch on run-time values, and a type error becomes an
   * error of the sub-expression that is only raised if that sub-expression is evaluated (so
   * `||`/`&&` can absorb it). Palisade never compiles this way; the conformance runner does for
   * tests that disable the checker.
   */
  readonly unchecked?: boolean;
}

export function isAstNode(v: unknown): v is AstNode {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { op?: unknown }).op === 'string' &&
    typeof (v as { setMeta?: unknown }).setMeta === 'function'
  );
}

function children(node: AstNode): AstNode[] {
  const out: AstNode[] = [];
  const collect = (v: unknown): void => {
    if (isAstNode(v)) out.push(v);
    else if (Array.isArray(v)) for (const e of v) collect(e);
  };
  const args = node.args;
  if (node.op === 'comprehension' && typeof args === 'object' && args !== null) {
    const c = args as Record<string, unknown>;
    collect([c['iterable'], c['init'], c['step']]);
  } else {
    collect(args);
  }
  if (node.meta.alternate) out.push(node.meta.alternate);
  return out;
}

/** Applies the corrections to every node of a parsed expression, once per node. */
export function transformAst(ast: unknown, options: TransformOptions = {}): void {
  if (!isAstNode(ast)) return;
  const seen = new Set<AstNode>();
  const stack: AstNode[] = [ast];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === undefined || seen.has(node)) continue;
    seen.add(node);
    fixNode(node);
    if (options.unchecked) makeUnchecked(node);
    stack.push(...children(node));
  }
}

// ---------------------------------------------------------------------------------------------
// Values

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** The timestamp range of CEL: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. */
const TIMESTAMP_MIN_MS = Date.parse('0001-01-01T00:00:00Z');
const TIMESTAMP_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');
const TIMESTAMP = 'google.protobuf.Timestamp';
const DURATION = 'google.protobuf.Duration';

function fail(message: string): never {
  throw new EvaluationError(message);
}

/** Rejects results outside CEL's value ranges (int64, timestamps, cel-go's int64-ns durations). */
export function checkRange(v: unknown): unknown {
  if (typeof v === 'bigint') {
    if (v < INT64_MIN || v > INT64_MAX) fail('integer overflow');
  } else if (v instanceof Date) {
    const t = v.getTime();
    if (!(t >= TIMESTAMP_MIN_MS && t <= TIMESTAMP_MAX_MS)) fail('timestamp out of range');
  } else if (v instanceof Duration) {
    const ns = v.seconds * 1_000_000_000n + BigInt(v.nanos);
    if (ns < INT64_MIN || ns > INT64_MAX) fail('duration out of range');
  }
  return v;
}

type Num = bigint | number | UnsignedInt;

function isNum(v: unknown): v is Num {
  return typeof v === 'bigint' || typeof v === 'number' || v instanceof UnsignedInt;
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isCelMap(v: unknown): v is Map<unknown, unknown> | Record<string, unknown> {
  return v instanceof Map || isPlainMap(v);
}

function mapEntries(v: Map<unknown, unknown> | Record<string, unknown>): [unknown, unknown][] {
  return v instanceof Map ? [...v.entries()] : Object.entries(v);
}

function integerValue(v: bigint | UnsignedInt): bigint {
  return typeof v === 'bigint' ? v : v.value;
}

/**
 * cel-go's ordering of an integer against a double: doubles beyond the integer type's range
 * order outside it, otherwise the integer is converted to double (which may round, so
 * `9223372036854775807 < 9223372036854775808.0` is false). NaN is unordered.
 */
function compareIntegerDouble(i: bigint, d: number, unsigned: boolean): number {
  if (Number.isNaN(d)) return Number.NaN;
  const min = unsigned ? 0 : -(2 ** 63);
  const max = unsigned ? 2 ** 64 : 2 ** 63;
  if (d < min) return 1;
  if (d > max) return -1;
  const f = Number(i);
  return f < d ? -1 : f > d ? 1 : 0;
}

/** Compares numbers of different CEL types; undefined when both have the same type. */
export function compareMixedNumbers(a: Num, b: Num): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return undefined;
  if (typeof a === 'number') {
    const c = compareMixedNumbers(b, a);
    return c === undefined ? undefined : -c;
  }
  if (typeof b === 'number') return compareIntegerDouble(integerValue(a), b, typeof a !== 'bigint');
  if (typeof a === typeof b && (typeof a === 'bigint') === (typeof b === 'bigint'))
    return undefined;
  const x = integerValue(a);
  const y = integerValue(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * CEL equality: numbers compare by value across int, uint and double; lists element-wise;
 * maps by key set (keys also compared across numeric types) and values; every other value by
 * the registered `==` overload of its type, as cel-js does.
 */
export function celEqual(ev: AstEvaluator, node: AstNode, a: unknown, b: unknown): boolean {
  if (isNum(a) && isNum(b)) {
    const na = a instanceof UnsignedInt ? a.value : a;
    const nb = b instanceof UnsignedInt ? b.value : b;
    return na == nb;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => celEqual(ev, node, x, b[i]));
  }
  if (isCelMap(a) && isCelMap(b)) {
    const ea = mapEntries(a);
    const eb = mapEntries(b);
    return (
      ea.length === eb.length &&
      ea.every(([k, v]) =>
        eb.some(([k2, v2]) => celEqual(ev, node, k, k2) && celEqual(ev, node, v, v2)),
      )
    );
  }
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ta = ev.debugType(a);
  const tb = ev.debugType(b);
  if (ta !== tb) return false;
  const overload = ev.registry.findBinaryOverload('==', ta, tb);
  return overload ? overload.handler(a, b, node, ev) === true : false;
}

function binaryOverride(
  op: string,
  l: unknown,
  r: unknown,
  node: AstNode,
  ev: AstEvaluator,
): { readonly value: unknown } | undefined {
  switch (op) {
    case '==':
    case '!=': {
      const deep =
        (isNum(l) && isNum(r)) ||
        (Array.isArray(l) && Array.isArray(r)) ||
        (isCelMap(l) && isCelMap(r));
      if (!deep) return undefined;
      const eq = celEqual(ev, node, l, r);
      return { value: op === '==' ? eq : !eq };
    }
    case 'in':
      return Array.isArray(r) ? { value: r.some((e) => celEqual(ev, node, l, e)) } : undefined;
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (!isNum(l) || !isNum(r)) return undefined;
      const c = compareMixedNumbers(l, r);
      if (c === undefined) return undefined;
      if (Number.isNaN(c)) return { value: false };
      const value = op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
      return { value };
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Node corrections

const BINARY_OPS = new Set(['==', '!=', 'in', '<', '<=', '>', '>=', '+', '-', '*', '/', '%']);

function wrapCheck(node: AstNode, after: (chk: AstChecker, type: CelType) => CelType): void {
  const check = node.meta.check;
  node.setMeta('check', (chk: AstChecker, ast: AstNode, ctx: unknown) =>
    after(chk, check(chk, ast, ctx)),
  );
}

/** After the node's own check has installed its handler, wraps the handler. */
function wrapHandle(node: AstNode, wrap: (handle: Handle) => Handle): void {
  wrapCheck(node, (_chk, type) => {
    const handle = node.handle;
    if (handle) node.handle = wrap(handle);
    return type;
  });
}

function isPromise(v: unknown): v is Promise<unknown> {
  return v instanceof Promise;
}

function rangeChecked(handle: Handle): Handle {
  return (...args: unknown[]) => {
    const out = handle(...args);
    return isPromise(out) ? out.then(checkRange) : checkRange(out);
  };
}

/** Binds a type parameter left by an empty literal (`[]`, `{}`, `optional.none()`) to dyn. */
function withoutTypeParams(chk: AstChecker, t: CelType): CelType {
  const dyn = chk.getType('dyn');
  switch (t.kind) {
    case 'param':
      return dyn;
    case 'list':
      return chk.registry.getListType(t.valueType ? withoutTypeParams(chk, t.valueType) : dyn);
    case 'optional':
      return chk.registry.getOptionalType(t.valueType ? withoutTypeParams(chk, t.valueType) : dyn);
    case 'map':
      return chk.registry.getMapType(
        t.keyType ? withoutTypeParams(chk, t.keyType) : dyn,
        t.valueType ? withoutTypeParams(chk, t.valueType) : dyn,
      );
    default:
      return t;
  }
}

function hasTypeParam(t: CelType): boolean {
  return (
    t.kind === 'param' ||
    (t.valueType !== undefined && hasTypeParam(t.valueType)) ||
    (t.keyType !== undefined && hasTypeParam(t.keyType))
  );
}

/** Checks `operand` first and, if its type still has a type parameter, records it as dyn. */
function precheckConcrete(chk: AstChecker, operand: unknown, ctx: unknown): void {
  if (!isAstNode(operand)) return;
  const t = chk.check(operand, ctx);
  if (hasTypeParam(t)) operand.checkedType = withoutTypeParams(chk, t);
}

function fixNode(node: AstNode): void {
  const op = node.op;
  if (op === 'value') {
    fixBytesLiteral(node);
    return;
  }
  if (op === 'call' && Array.isArray(node.args) && node.args[0] === 'has' && node.meta.macro) {
    const [, callArgs] = node.args as [string, unknown[]];
    if (isAstNode(callArgs[0])) node.setMeta('macro', new HasMacro(callArgs[0]));
    return;
  }
  if (node.meta.macro || node.meta.alternate) return;
  if (op === '.' || op === '.?' || op === '[]' || op === '[?]' || op === 'comprehension') {
    const check = node.meta.check;
    node.setMeta('check', (chk: AstChecker, ast: AstNode, ctx: unknown) => {
      const operand =
        op === 'comprehension'
          ? (ast.args as { iterable?: unknown }).iterable
          : (ast.args as unknown[])[0];
      precheckConcrete(chk, operand, ctx);
      return check(chk, ast, ctx);
    });
  }
  if (BINARY_OPS.has(op)) {
    wrapHandle(node, (handle) => {
      const checked = rangeChecked(handle);
      return (l: unknown, r: unknown, ast: unknown, ev: unknown) => {
        if (isPromise(l) || isPromise(r)) return checked(l, r, ast, ev);
        const special = binaryOverride(op, l, r, node, ev as AstEvaluator);
        return special === undefined ? checked(l, r, ast, ev) : special.value;
      };
    });
  }
  if (op === '[]') {
    // A uint index into a list selects like the equal int (cel-go's dynamic dispatch).
    wrapHandle(
      node,
      (handle) =>
        (l: unknown, r: unknown, ...rest: unknown[]) =>
          handle(l, Array.isArray(l) && r instanceof UnsignedInt ? r.value : r, ...rest),
    );
  }
  if (op === '+') {
    // cel-js declares `duration + timestamp` with the duration's type; its value is a timestamp.
    const check = node.meta.check;
    node.setMeta('check', (chk: AstChecker, ast: AstNode, ctx: unknown) => {
      const type = check(chk, ast, ctx);
      const [l, r] = ast.args as [AstNode, AstNode];
      if (l.checkedType?.name === DURATION && r.checkedType?.name === TIMESTAMP)
        return chk.getType(TIMESTAMP);
      return type;
    });
  }
  if (op === '-_' || op === 'rcall') wrapHandle(node, rangeChecked);
  if (op === 'call') fixCall(node);
  if (op === 'id') fixNullTypeConstant(node);
}

// ---------------------------------------------------------------------------------------------
// Functions

/** cel-go's double → int conversion fails unless the value lies strictly inside int64. */
function doubleToIntChecked(d: number): void {
  if (!(d > -(2 ** 63) && d < 2 ** 63)) fail('integer overflow: double out of int range');
}

function fixCall(node: AstNode): void {
  const [name, callArgs] = node.args as [string, unknown[]];
  wrapHandle(node, (handle) => {
    const checked = rangeChecked(handle);
    return (args: unknown, ...rest: unknown[]) => {
      if (Array.isArray(args) && callArgs.length === 1) {
        const [arg] = args as unknown[];
        if (name === 'int' && typeof arg === 'number') doubleToIntChecked(arg);
        if (name === 'string' && arg instanceof Uint8Array) return utf8Decode(arg);
      }
      const out = checked(args, ...rest);
      return name === 'type' ? celTypeValue(out) : out;
    };
  });
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8Decode(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return fail('invalid UTF-8 in bytes, cannot convert to string');
  }
}

// ---------------------------------------------------------------------------------------------
// Types

/** The `Type` class of cel-js values such as `int` (not exported). */
const TypeClass = (new Environment().evaluate('int') as object).constructor as new (
  name: string,
) => object;
const CEL_NULL_TYPE: unknown = new Environment().evaluate('type(null)');
/** CEL names the type of `null` `null_type`; cel-js names its type value `null`. */
export const NULL_TYPE = new TypeClass('null_type');
/** The type of optional values, `optional_type`. */
export const OPTIONAL_TYPE = new TypeClass('optional_type');

function celTypeValue(v: unknown): unknown {
  return v === CEL_NULL_TYPE ? NULL_TYPE : v;
}

function fixNullTypeConstant(node: AstNode): void {
  if (node.args !== 'null_type') return;
  wrapCheck(node, (_chk, type) => {
    const alternate = node.meta.alternate;
    if (alternate && alternate.args === CEL_NULL_TYPE) alternate.args = NULL_TYPE;
    return type;
  });
}

// ---------------------------------------------------------------------------------------------
// Bytes literals

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
function fixBytesLiteral(node: AstNode): void {
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

// ---------------------------------------------------------------------------------------------
// has()

/**
 * `has(e.f)` for any operand expression `e` (cel-js accepts only identifiers and selections
 * on them): true when the map `e` has key `f` or the message `e` has field `f` set. An optional
 * operand tests its value; `optional.none()` has no fields.
 */
class HasMacro implements AstMacro {
  readonly async = false;
  private readonly operand: AstNode;
  private readonly field: string;

  constructor(private readonly select: AstNode) {
    const [operand, field] = Array.isArray(select.args) ? (select.args as unknown[]) : [];
    this.operand = isAstNode(operand) ? operand : select;
    this.field = typeof field === 'string' ? field : '';
  }

  typeCheck(chk: AstChecker, _macro: AstMacro, ctx: unknown): CelType {
    if (this.select.op !== '.' || this.operand === this.select) {
      throw chk.createError('invalid_macro_argument', 'has() invalid argument', this.select);
    }
    precheckConcrete(chk, this.operand, ctx);
    const t = chk.check(this.operand, ctx);
    if (t.kind === 'message') chk.check(this.select, ctx);
    else if (t.kind !== 'map' && t.kind !== 'optional' && t.kind !== 'dyn') {
      throw chk.createError(
        'invalid_macro_argument',
        `has() cannot test a field of type '${t.name}'`,
        this.select,
      );
    }
    return chk.getType('bool');
  }

  evaluate(ev: AstEvaluator, _macro: AstMacro, ctx: unknown): unknown {
    const v = ev.run(this.operand, ctx);
    return isPromise(v) ? v.then((x) => this.test(ev, x)) : this.test(ev, v);
  }

  private test(ev: AstEvaluator, value: unknown): boolean {
    let v = value;
    if (v instanceof Optional) {
      if (!v.hasValue()) return false;
      v = v.value();
    }
    if (v instanceof Map) return v.has(this.field);
    if (isPlainMap(v)) return Object.hasOwn(v, this.field);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const type = ev.debugType(v);
      if (type.kind === 'message')
        return type.fieldLazy(v, this.field, this.select, ev) !== undefined;
    }
    return fail(`has() cannot test field '${this.field}' of ${ev.debugType(v).name}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Unchecked evaluation (cel-spec `disable_check`)

function asError(e: unknown): Error {
  return e instanceof Error ? e : new EvaluationError(String(e));
}

function deferredError(error: unknown): EvaluateFn {
  return () => {
    throw asError(error);
  };
}

function makeUnchecked(node: AstNode): void {
  const meta = node.meta;
  if (meta.alternate) return;
  const macro = meta.macro;
  if (macro) {
    let error: Error | undefined;
    const wrapper: AstMacro = {
      typeCheck(chk, _m, ctx) {
        try {
          macro.typeCheck(chk, macro, ctx);
        } catch (e) {
          error = asError(e);
        }
        return chk.getType('dyn');
      },
      evaluate(ev, _m, ctx) {
        if (error !== undefined) throw error;
        return macro.evaluate(ev, macro, ctx);
      },
    };
    node.setMeta('macro', wrapper);
    return;
  }
  const check = meta.check;
  node.setMeta('check', (chk: AstChecker, ast: AstNode, ctx: unknown) => {
    try {
      check(chk, ast, ctx);
    } catch (e) {
      ast.setMeta('evaluate', deferredError(e));
    }
    return chk.getType('dyn');
  });
}
