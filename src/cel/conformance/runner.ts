import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '@marcbachmann/cel-js';
import type { Environment } from '@marcbachmann/cel-js';
import { transformAst } from '../ext/ast.js';
import { registerIterVarMacros } from '../ext/itervar.js';
import { exclusionReason } from './classify.js';
import { loadSimpleTestFile } from './schema.js';
import type { SimpleTest } from './schema.js';
import {
  describeExpected,
  describeValue,
  matchesExpected,
  toCelTypeName,
  toCelValue,
} from './values.js';

/**
 * Runs cel-spec `tests/simple` files against a CEL environment: parse, then evaluate (the
 * library type-checks during evaluation), with `type_env` declarations registered as variables
 * and bindings converted to engine values. Error-expecting tests pass on any error except a
 * syntax error, as the cel-go runner does.
 */

export type TestStatus = 'pass' | 'fail' | 'excluded';

export interface TestOutcome {
  /** `section/test`, unique within a file. */
  readonly id: string;
  readonly status: TestStatus;
  /** Why it failed or was excluded; empty for passes. */
  readonly detail: string;
}

export interface FileResult {
  /** File name without `.textproto`. */
  readonly file: string;
  readonly outcomes: readonly TestOutcome[];
}

/** Relative location of the simple tests inside a cel-spec checkout. */
export const SIMPLE_TESTDATA = join('tests', 'simple', 'testdata');

function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split('\n')[0] ?? '').slice(0, 200);
}

/** Declares the test's identifiers; bindings without a declaration are `dyn`, as cel-go's runner allows. */
function declareVariables(env: Environment, test: SimpleTest): void {
  const declared = new Set<string>();
  for (const decl of test.typeEnv) {
    if (decl.kind !== 'ident' || declared.has(decl.name)) continue;
    declared.add(decl.name);
    // A name the engine refuses (e.g. `true`) simply stays undeclared; the expression decides.
    try {
      env.registerVariable(decl.name, toCelTypeName(decl.type));
    } catch {
      continue;
    }
  }
  for (const name of test.bindings.keys()) {
    if (declared.has(name)) continue;
    try {
      env.registerVariable(name, 'dyn');
    } catch {
      continue;
    }
  }
}

function activation(test: SimpleTest): Record<string, unknown> {
  const ctx: Record<string, unknown> = {};
  for (const [name, binding] of test.bindings) {
    if (binding.kind === 'value') ctx[name] = toCelValue(binding.value);
  }
  return ctx;
}

type Evaluation =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

function evaluate(base: Environment, test: SimpleTest): Evaluation {
  try {
    // Without the checker, cel-go resolves undeclared names at run time; dyn declarations match that.
    const env = base.clone(test.disableCheck ? { unlistedVariablesAreDyn: true } : {});
    declareVariables(env, test);
    const program = env.parse(test.expr);
    // The same post-parse corrections Palisade's compiler applies; without the checker, static
    // types are dyn and type errors surface only where evaluated, as in cel-go.
    transformAst(program.ast, { unchecked: test.disableCheck });
    const value: unknown = program(activation(test));
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Runs one test; `base` is cloned so per-test declarations never leak. */
export function runTest(
  base: Environment,
  fileName: string,
  sectionName: string,
  test: SimpleTest,
): TestOutcome {
  const id = `${sectionName}/${test.name}`;
  const excluded = exclusionReason(fileName, test);
  if (excluded !== undefined) return { id, status: 'excluded', detail: excluded };

  const result = evaluate(base, test);
  const matcher = test.matcher;
  if (matcher.kind === 'evalError' || matcher.kind === 'anyEvalErrors') {
    if (result.ok)
      return {
        id,
        status: 'fail',
        detail: `expected an error, got ${describeValue(result.value)}`,
      };
    if (result.error instanceof ParseError) {
      return {
        id,
        status: 'fail',
        detail: `syntax error where an evaluation error was expected: ${errorText(result.error)}`,
      };
    }
    return { id, status: 'pass', detail: '' };
  }
  const expected =
    matcher.kind === 'value' ? matcher.value : ({ kind: 'bool', value: true } as const);
  if (!result.ok) return { id, status: 'fail', detail: `error: ${errorText(result.error)}` };
  if (matchesExpected(expected, result.value)) return { id, status: 'pass', detail: '' };
  return {
    id,
    status: 'fail',
    detail: `expected ${describeExpected(expected)}, got ${describeValue(result.value)}`,
  };
}

/** Runs every test of one decoded file. */
export function runFileSource(base: Environment, fileName: string, source: string): FileResult {
  const file = loadSimpleTestFile(source);
  const outcomes = file.sections.flatMap((section) =>
    section.tests.map((test) => runTest(base, fileName, section.name, test)),
  );
  return { file: fileName, outcomes };
}

/**
 * The environment conformance runs against: Palisade's root environment with cel-spec's default
 * options. Palisade, like Kubernetes, rejects mixed-type list and map literals
 * (`HomogeneousAggregateLiterals`); cel-spec's tests assume cel-go's default, which accepts them,
 * so that restriction is lifted here rather than reported as a conformance failure. It also
 * declares cel-spec's test-only `cel.iterVar` macro.
 */
export function specEnvironment(root: Environment): Environment {
  const env = root.clone({ homogeneousAggregateLiterals: false });
  // block_ext's test-only macro for optimizer-introduced comprehension variables.
  registerIterVarMacros(env);
  return env;
}

/** Runs all `*.textproto` files of a cel-spec checkout, in name order. */
export function runSuite(dataDir: string, createEnvironment: () => Environment): FileResult[] {
  const dir = join(dataDir, SIMPLE_TESTDATA);
  const base = specEnvironment(createEnvironment());
  return readdirSync(dir)
    .filter((f) => f.endsWith('.textproto'))
    .sort()
    .map((f) =>
      runFileSource(base, f.replace(/\.textproto$/, ''), readFileSync(join(dir, f), 'utf8')),
    );
}
