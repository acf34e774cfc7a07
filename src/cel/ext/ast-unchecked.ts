import { EvaluationError } from '@marcbachmann/cel-js';
import type { AstChecker, AstMacro, AstNode, EvaluateFn } from './ast-node.js';

// Unchecked evaluation (cel-spec `disable_check`), enabled by `TransformOptions.unchecked`.

function asError(e: unknown): Error {
  return e instanceof Error ? e : new EvaluationError(String(e));
}

function deferredError(error: unknown): EvaluateFn {
  return () => {
    throw asError(error);
  };
}

/** Makes `node` statically `dyn`, deferring a type error to the node's evaluation. */
export function makeUnchecked(node: AstNode): void {
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
