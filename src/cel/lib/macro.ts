import type { Environment } from '@marcbachmann/cel-js';
import { celError } from './values.js';

/**
 * Typed view of the parts of cel-js's macro API we rely on. cel-js types macro handlers as
 * `(...args: any[]) => any`; these interfaces pin down the shape documented in its README
 * (`{ast, args, receiver}` in, `{typeCheck, evaluate}` out) plus the AST, checker, evaluator and
 * context methods its own `has()` and `cel.bind()` macros use, so the rest of our code stays
 * free of `any`.
 */
export interface MacroAst {
  readonly op: string;
  readonly args: unknown;
  readonly maybeAsync: boolean;
  setMeta(key: string, value: unknown): MacroAst;
}

export interface CelTypeDecl {
  readonly kind: string;
  readonly name: string;
  readonly valueType?: CelTypeDecl;
  matches(other: CelTypeDecl): boolean;
}

export interface MacroContext {
  forkWithVariable(name: string, type: CelTypeDecl): MacroIterContext;
}

export interface MacroIterContext extends MacroContext {
  reuse(parent: unknown): MacroIterContext;
  setIterValue(value: unknown, ev: MacroEvaluator): MacroIterContext;
}

export interface MacroChecker {
  check(ast: MacroAst, ctx: unknown): CelTypeDecl;
  getType(name: string): CelTypeDecl;
  createError(code: string, message: string, node?: MacroAst): Error;
}

export interface MacroEvaluator {
  run(ast: MacroAst, ctx: unknown): unknown;
}

export interface MacroInput {
  readonly ast: MacroAst;
  readonly args: readonly MacroAst[];
  readonly receiver: MacroAst | null;
}

export interface MacroDefinition<S> {
  state: S;
  typeCheck(checker: MacroChecker, macro: MacroDefinition<S>, ctx: unknown): CelTypeDecl;
  evaluate(ev: MacroEvaluator, macro: MacroDefinition<S>, ctx: unknown): unknown;
}

/** Registers a macro; `signature` must contain an `ast` parameter so cel-js treats it as one. */
export function registerMacro<S>(
  env: Environment,
  signature: string,
  expand: (input: MacroInput) => MacroDefinition<S>,
): void {
  env.registerFunction(signature, expand as (...args: unknown[]) => unknown);
}

/**
 * Evaluates argument ASTs, resolving promises only if some argument is asynchronous (another
 * library may register async functions), then applies `apply`.
 */
export function evaluateArgs(
  ev: MacroEvaluator,
  nodes: readonly MacroAst[],
  ctx: unknown,
  apply: (values: unknown[]) => unknown,
): unknown {
  const values = nodes.map((n) => ev.run(n, ctx));
  if (values.some((v) => v instanceof Promise)) return Promise.all(values).then(apply);
  return apply(values);
}

/** Marks the macro call synchronous when its operands are, as cel-js's own `cel.bind` does. */
export function markSyncIfPossible(ast: MacroAst, nodes: readonly MacroAst[]): void {
  if (!nodes.some((n) => n.maybeAsync)) ast.setMeta('async', false);
}

/** The name of an identifier AST node, or a parse-time error for macros that need one. */
export function identifierName(node: MacroAst, what: string): string {
  if (node.op === 'id' && typeof node.args === 'string') return node.args;
  throw celError(`${what} must be a simple identifier`);
}

/** True when `actual` may hold a value of the named type (dyn accepts everything). */
export function accepts(checker: MacroChecker, typeName: string, actual: CelTypeDecl): boolean {
  return actual.kind === 'dyn' || checker.getType(typeName).matches(actual);
}
