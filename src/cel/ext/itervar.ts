import type { Environment } from '@marcbachmann/cel-js';
import { isAstNode } from './ast.js';
import type { AstNode } from './ast.js';
import { extError } from './registry.js';

/**
 * cel-spec's test-only `cel.iterVar(N, M)` macro (block_ext conformance tests): it stands for
 * the comprehension variable `@it:N:M` that cel-go's optimizer introduces, both where a macro
 * declares its iteration variable and where the body refers to it. Not part of Palisade's
 * environment; the conformance runner registers it.
 *
 * A reference expands at parse time to an identifier node named `@it:N:M` (an identifier no
 * CEL source can spell). In variable position the built-in comprehension macros accept only an
 * identifier, so `exists`, `map`, … are re-registered as macros on a private receiver type —
 * cel-js expands macros by name and arity, the last registered one winning — that substitute
 * the identifier and hand the call to the macro they replaced.
 */

interface ExpanderInput {
  readonly ast: AstNode & { clone(op: IdOp, args: string): AstNode };
  readonly args: readonly unknown[];
  readonly receiver: AstNode | null;
  readonly methodName: string;
  readonly parser: {
    readonly registry: {
      functionCandidates(
        receiver: boolean,
        name: string,
        arity: number,
      ): { readonly declarations: readonly MacroDeclaration[] };
    };
  };
}

interface MacroDeclaration {
  readonly macro: boolean;
  readonly receiverType: { readonly name: string } | null;
  handler(input: ExpanderInput): unknown;
}

interface IdOp {
  readonly name: 'id';
  readonly check: unknown;
  readonly evaluate: unknown;
}

const RECEIVER = 'palisade.internal.IterVarMacroReceiver';

/** The comprehension macros whose variables may be written as `cel.iterVar(N, M)`. */
const MACROS: readonly (readonly [name: string, arity: number, returns: string])[] = [
  ['all', 2, 'bool'],
  ['exists', 2, 'bool'],
  ['exists_one', 2, 'bool'],
  ['map', 2, 'list<dyn>'],
  ['map', 3, 'list<dyn>'],
  ['filter', 2, 'list<dyn>'],
  ['all', 3, 'bool'],
  ['exists', 3, 'bool'],
  ['existsOne', 3, 'bool'],
];

function literalIndex(node: unknown): bigint {
  if (isAstNode(node) && node.op === 'value' && typeof node.args === 'bigint' && node.args >= 0n)
    return node.args;
  throw extError('cel.iterVar() needs two non-negative int literals');
}

/** The `@it:N:M` identifier a `cel.iterVar(N, M)` argument expanded to, if it is one. */
function iterVarIdentifier(node: unknown): AstNode | undefined {
  if (!isAstNode(node) || node.op !== 'rcall') return undefined;
  const alternate = node.meta.alternate;
  return alternate?.op === 'id' &&
    typeof alternate.args === 'string' &&
    alternate.args.startsWith('@it:')
    ? alternate
    : undefined;
}

function expandIterVar(input: ExpanderInput): { callAst: AstNode } {
  const [n, m] = input.args;
  const receiver = input.receiver;
  if (receiver?.op !== 'id') throw extError('cel.iterVar() must be called on cel');
  // The receiver `cel` is an identifier: reuse its operator to build the `@it:N:M` identifier.
  const idOp: IdOp = { name: 'id', check: receiver.meta.check, evaluate: receiver.meta.evaluate };
  return { callAst: input.ast.clone(idOp, `@it:${literalIndex(n)}:${literalIndex(m)}`) };
}

function delegatingExpander(name: string, arity: number) {
  return (input: ExpanderInput): unknown => {
    const previous = input.parser.registry
      .functionCandidates(true, name, arity)
      .declarations.filter((d) => d.macro && d.receiverType?.name !== RECEIVER)
      .at(-1);
    if (!previous) throw extError(`${name}() has no macro to delegate to`);
    const args = input.args.map((a) => iterVarIdentifier(a) ?? a);
    return previous.handler({ ...input, args });
  };
}

/** Registers `cel.iterVar(N, M)` and its use as a comprehension variable. */
export function registerIterVarMacros(env: Environment): void {
  // Never instantiated: the type only gives the overriding macros a receiver of their own.
  env.registerType(
    RECEIVER,
    class IterVarMacroReceiver {
      readonly marker = RECEIVER;
    },
  );
  env.registerFunction('CelNamespace.iterVar(ast, ast): dyn', expandIterVar as () => unknown);
  for (const [name, arity, returns] of MACROS) {
    const params = Array.from({ length: arity }, () => 'ast').join(', ');
    env.registerFunction(
      `${RECEIVER}.${name}(${params}): ${returns}`,
      delegatingExpander(name, arity) as () => unknown,
    );
  }
}
