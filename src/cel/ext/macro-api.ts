import { ParseError } from '@marcbachmann/cel-js';
import type { Environment } from '@marcbachmann/cel-js';

/**
 * Typed view of the parts of cel-js's macro API the extensions use. cel-js types macro
 * handlers as `(...args: any[]) => any`; these interfaces pin down the shape its README
 * documents (`{ast, args, receiver}` in, `{typeCheck, evaluate}` out) and the checker,
 * evaluator and scope methods its own `cel.bind()` uses, so the extensions stay free of `any`.
 */

export interface MacroAst {
  readonly op: string;
  readonly args: unknown;
}

/** A cel-js `TypeDeclaration`. */
export interface CelType {
  readonly kind: string;
  readonly name: string;
  readonly keyType?: CelType;
  readonly valueType?: CelType;
}

/** A type-checking scope; forking adds one variable. */
export interface MacroScope {
  forkWithVariable(name: string, type: CelType): MacroVarScope;
}

/** A scope created at check time that evaluation re-parents and fills per iteration. */
export interface MacroVarScope extends MacroScope {
  reuse(parent: unknown): MacroVarScope;
  setIterValue(value: unknown, ev: MacroEvaluator): MacroVarScope;
}

export interface MacroChecker {
  check(ast: MacroAst, scope: unknown): CelType;
  getType(name: string): CelType;
  createError(code: string, message: string, node?: MacroAst): Error;
  readonly registry: {
    getListType(elem: CelType): CelType;
    getMapType(key: CelType, value: CelType): CelType;
  };
}

export interface MacroEvaluator {
  run(ast: MacroAst, scope: unknown): unknown;
}

export interface MacroInput {
  readonly ast: MacroAst;
  readonly args: readonly MacroAst[];
  readonly receiver: MacroAst | null;
}

export interface Macro {
  typeCheck(checker: MacroChecker, macro: Macro, scope: MacroScope): CelType;
  evaluate(ev: MacroEvaluator, macro: Macro, scope: unknown): unknown;
  /** Our macros evaluate synchronously; cel-js then skips its promise handling. */
  readonly async: false;
}

/** Registers a macro; `signature` must use `ast` parameters so cel-js expands it at parse time. */
export function registerMacro(
  env: Environment,
  signature: string,
  expand: (input: MacroInput) => Macro,
): void {
  env.registerFunction(signature, expand as (...args: unknown[]) => unknown);
}

/** The identifier an iteration-variable argument names, or a parse-time error. */
export function identifierOf(node: MacroAst, what: string): string {
  if (node.op === 'id' && typeof node.args === 'string') return node.args;
  throw new ParseError(`${what} must be a simple identifier`);
}
