import type { CelType } from './macro-api.js';

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

export type CheckFn = (chk: AstChecker, ast: AstNode, ctx: unknown) => CelType;
export type EvaluateFn = (ev: AstEvaluator, ast: AstNode, ctx: unknown) => unknown;
export type Handle = (...args: unknown[]) => unknown;

export interface AstMacro {
  typeCheck(chk: AstChecker, macro: AstMacro, ctx: unknown): CelType;
  evaluate(ev: AstEvaluator, macro: AstMacro, ctx: unknown): unknown;
}

export interface AstMeta {
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

export function isAstNode(v: unknown): v is AstNode {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { op?: unknown }).op === 'string' &&
    typeof (v as { setMeta?: unknown }).setMeta === 'function'
  );
}

/** The AST nodes directly below `node`, including the alternate a checked node may carry. */
export function children(node: AstNode): AstNode[] {
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

export function wrapCheck(node: AstNode, after: (chk: AstChecker, type: CelType) => CelType): void {
  const check = node.meta.check;
  node.setMeta('check', (chk: AstChecker, ast: AstNode, ctx: unknown) =>
    after(chk, check(chk, ast, ctx)),
  );
}

/** After the node's own check has installed its handler, wraps the handler. */
export function wrapHandle(node: AstNode, wrap: (handle: Handle) => Handle): void {
  wrapCheck(node, (_chk, type) => {
    const handle = node.handle;
    if (handle) node.handle = wrap(handle);
    return type;
  });
}
