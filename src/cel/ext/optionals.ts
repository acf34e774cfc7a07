import { Optional } from '@marcbachmann/cel-js';
import type { Environment } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { celEquals } from './equality.js';
import { identifierOf, registerMacro } from './macro-api.js';
import type {
  CelType,
  Macro,
  MacroAst,
  MacroChecker,
  MacroEvaluator,
  MacroInput,
  MacroScope,
  MacroVarScope,
} from './macro-api.js';
import { extError, registerSync } from './registry.js';

/**
 * Parts of cel-go's optional library (`cel.OptionalTypes`, enabled in Kubernetes since 1.28)
 * that cel-js 8 lacks: `optional.ofNonZeroValue`, `==`/`!=` between optionals, and the
 * `optMap`/`optFlatMap` macros.
 */

/** The zero value of each CEL type, which `ofNonZeroValue` maps to `optional.none()`. */
export function isZeroValue(v: unknown): boolean {
  if (v === null || v === false || v === '' || v === 0n || v === 0) return true;
  if (v instanceof UnsignedInt) return v.value === 0n;
  if (v instanceof Uint8Array || Array.isArray(v)) return v.length === 0;
  if (v instanceof Map) return v.size === 0;
  if (v instanceof Duration) return v.seconds === 0n && v.nanos === 0;
  if (v instanceof Date) return v.getTime() === 0;
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return Object.keys(v).length === 0;
  return false;
}

class OptionalMap implements Macro {
  readonly async = false;
  private scope: MacroVarScope | undefined;
  private readonly receiver: MacroAst;
  private readonly varName: string;
  private readonly body: MacroAst;

  constructor(
    private readonly flat: boolean,
    input: MacroInput,
  ) {
    const [v, body] = input.args;
    if (!input.receiver || !v || !body)
      throw extError('optMap/optFlatMap need a receiver and two arguments');
    this.receiver = input.receiver;
    this.varName = identifierOf(v, 'optMap variable');
    this.body = body;
  }

  typeCheck(checker: MacroChecker, _macro: Macro, scope: MacroScope): CelType {
    const receiverType = checker.check(this.receiver, scope);
    if (receiverType.kind !== 'optional' && receiverType.kind !== 'dyn') {
      throw checker.createError(
        'optional_expected',
        'optMap receiver must be optional',
        this.receiver,
      );
    }
    this.scope = scope.forkWithVariable(
      this.varName,
      receiverType.valueType ?? checker.getType('dyn'),
    );
    const bodyType = checker.check(this.body, this.scope);
    if (this.flat) {
      if (bodyType.kind !== 'optional' && bodyType.kind !== 'dyn') {
        throw checker.createError(
          'optional_expected',
          'optFlatMap must return an optional',
          this.body,
        );
      }
      return bodyType.kind === 'optional' ? bodyType : checker.getType('optional');
    }
    return checker.getType('optional');
  }

  evaluate(ev: MacroEvaluator, _macro: Macro, scope: unknown): unknown {
    if (!this.scope) throw extError('optMap was not type-checked');
    const receiver = ev.run(this.receiver, scope);
    if (!(receiver instanceof Optional)) throw extError('optMap receiver must be optional');
    if (!receiver.hasValue()) return receiver;
    const out = ev.run(this.body, this.scope.reuse(scope).setIterValue(receiver.value(), ev));
    if (!this.flat) return Optional.of(out);
    if (!(out instanceof Optional)) throw extError('optFlatMap must return an optional');
    return out;
  }
}

export function registerOptionalFixes(env: Environment): void {
  registerSync(
    env,
    'OptionalNamespace.ofNonZeroValue(A): optional<A>',
    (_ns: unknown, v: unknown) => (isZeroValue(v) ? Optional.none() : Optional.of(v)),
  );
  // cel-js derives `!=` from `==`.
  env.registerOperator('optional == optional', (a: unknown, b: unknown) => celEquals(a, b));
  registerMacro(
    env,
    'optional.optMap(ast, ast): optional<dyn>',
    (input) => new OptionalMap(false, input),
  );
  registerMacro(
    env,
    'optional.optFlatMap(ast, ast): optional<dyn>',
    (input) => new OptionalMap(true, input),
  );
}
