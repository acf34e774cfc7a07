import type { Environment } from '@marcbachmann/cel-js';
import { PalisadeError, errorMessage, type FieldError } from '../shared/errors.js';
import { needsDeadline } from './cost.js';
import { createBaseEnvironment } from './environment.js';
import { transformAst } from './ext/ast.js';
import { runWithDeadline } from './guard.js';

/** A compiled expression: parsed and type-checked once, evaluated many times. */
export interface CelProgram {
  readonly expression: string;
  /** Where the expression came from, e.g. `spec.settings.validations[2].expression`. */
  readonly path: string;
  readonly outputType: string;
  /** Evaluates against `activation`; throws `cel_evaluation_error` or `cel_timeout`. */
  evaluate(activation: object, timeoutMs: number): unknown;
}

/** A variable declaration: name and CEL type (`dyn`, `int`, or a registered type name). */
export interface CelDeclaration {
  readonly name: string;
  readonly type: string;
}

export interface CelTypeDeclaration {
  readonly name: string;
  readonly ctor: new (...args: never[]) => object;
  readonly fields: Readonly<Record<string, string>>;
}

let base: Environment | undefined;

/** The process-wide root environment; built lazily because registering the libraries is not free. */
function baseEnvironment(): Environment {
  base ??= createBaseEnvironment();
  return base;
}

/**
 * Compiles expressions for one policy against its declared variables. The policy-specific
 * environment is a clone of the shared root, so libraries are registered once per process.
 */
export class CelCompiler {
  readonly #env: Environment;

  constructor(variables: readonly CelDeclaration[], types: readonly CelTypeDeclaration[] = []) {
    const env = baseEnvironment().clone();
    for (const t of types) env.registerType(t.name, { ctor: t.ctor, fields: { ...t.fields } });
    for (const v of variables) env.registerVariable(v.name, v.type);
    this.#env = env;
  }

  /**
   * Parses and type-checks `expression`. Returns the program, or a field error naming `path`
   * when it does not compile or its type is not `expectType` (dyn is accepted: it is checked
   * again at run time).
   */
  compile(expression: string, path: string, expectType?: string): CelProgram | FieldError {
    let parsed: ReturnType<Environment['parse']>;
    try {
      parsed = this.#env.parse(expression);
      // cel-go semantics the library lacks (has() on maps, cross-numeric ==, overflow and
      // range errors): applied to the tree before it is checked.
      transformAst(parsed.ast);
    } catch (e) {
      return { path, message: `does not compile: ${firstLine(errorMessage(e))}` };
    }
    const checked = parsed.check();
    if (!checked.valid) {
      return { path, message: `does not compile: ${firstLine(errorMessage(checked.error))}` };
    }
    const outputType = checked.type ?? 'dyn';
    if (expectType !== undefined && outputType !== expectType && outputType !== 'dyn') {
      return { path, message: `must evaluate to ${expectType}, but its type is ${outputType}` };
    }
    const guarded = needsDeadline(parsed.ast);
    const run = (activation: object): unknown => parsed(activation) as unknown;
    return {
      expression,
      path,
      outputType,
      evaluate(activation: object, timeoutMs: number): unknown {
        try {
          const result = guarded
            ? runWithDeadline(() => run(activation), timeoutMs, path)
            : run(activation);
          if (result instanceof Promise) {
            throw new PalisadeError('cel_evaluation_error', `${path}: asynchronous result`);
          }
          return result;
        } catch (e) {
          if (e instanceof PalisadeError) throw e;
          throw new PalisadeError(
            'cel_evaluation_error',
            `${path}: ${firstLine(errorMessage(e))}`,
            { cause: e },
          );
        }
      },
    };
  }
}

export function isFieldError(v: CelProgram | FieldError): v is FieldError {
  return !('evaluate' in v);
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.trim();
}
