import { Optional } from '@marcbachmann/cel-js';
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { fixBytesLiteral } from './ast-bytes.js';
import {
  type AstChecker,
  type AstEvaluator,
  type AstMacro,
  type AstNode,
  children,
  type Handle,
  isAstNode,
  wrapHandle,
} from './ast-node.js';
import { celTypeValue, fixNullTypeConstant } from './ast-types.js';
import { makeUnchecked } from './ast-unchecked.js';
import { binaryOverride, checkRange, DURATION, fail, isPlainMap, TIMESTAMP } from './ast-values.js';
import type { CelType } from './macro-api.js';

export type { AstChecker, AstEvaluator, AstNode } from './ast-node.js';
export { isAstNode } from './ast-node.js';
export { celEqual, checkRange, compareMixedNumbers } from './ast-values.js';
export { NULL_TYPE, OPTIONAL_TYPE } from './ast-types.js';
export { decodeBytesLiteralBody } from './ast-bytes.js';

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
// Node corrections

const BINARY_OPS = new Set(['==', '!=', 'in', '<', '<=', '>', '>=', '+', '-', '*', '/', '%']);

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
