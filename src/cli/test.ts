import { dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { TestSuite, type TestCase, type TestExpectation } from '../api/test-suite.js';
import {
  applyPatch,
  decodePatch,
  definitionsFromDocuments,
  loadEnvironment,
  readPolicySources,
  readYamlDocuments,
  type EvaluationEnvironment,
  type LoadOptions,
  type PolicyDefinition,
} from '../engine/index.js';
import { schemaErrors } from '../shared/schema-errors.js';
import type { AdmissionResponse, JsonValue } from '../shared/admission.js';
import { parseAdmissionRequest } from '../shared/admission-parse.js';
import { PalisadeError, errorMessage, formatFieldErrors } from '../shared/errors.js';
import { readJsonFile } from './read.js';
import { selectPolicy, withSettings } from './select.js';

export interface TestTotals {
  passed: number;
  failed: number;
}

/**
 * `palisade test`: runs every case of every suite through the same engine as the server and
 * prints one line per case and the closing `N passed, N failed` line. A suite that cannot be
 * read counts as one failure and the others still run.
 */
export async function testCommand(
  files: readonly string[],
  load: LoadOptions,
  out: NodeJS.WritableStream,
): Promise<TestTotals> {
  const totals: TestTotals = { passed: 0, failed: 0 };
  for (const file of files) {
    try {
      await runSuite(file, load, out, totals);
    } catch (e) {
      totals.failed++;
      out.write(`FAIL ${file}: ${errorMessage(e)}\n`);
    }
  }
  out.write(`${totals.passed} passed, ${totals.failed} failed\n`);
  return totals;
}

async function runSuite(
  file: string,
  load: LoadOptions,
  out: NodeJS.WritableStream,
  totals: TestTotals,
): Promise<void> {
  const [doc] = await readYamlDocuments(file);
  const errors = schemaErrors(TestSuite, doc, 'suite');
  if (errors.length > 0)
    throw new PalisadeError('test_suite_invalid', `${file}: ${formatFieldErrors(errors)}`, {
      fields: errors,
    });
  const suite = doc as unknown as TestSuite;
  const base = dirname(file);
  const defs: PolicyDefinition[] = [];
  for (const [i, p] of suite.policies.entries()) {
    defs.push(
      ...(typeof p === 'string'
        ? await readPolicySources(resolve(base, p))
        : definitionsFromDocuments([p as JsonValue], `${file} policies[${i}]`)),
    );
  }
  out.write(`# ${suite.name ?? file}\n`);
  // Compiled once per suite; only a case that overrides settings compiles its own copy.
  const env = await loadEnvironment(defs, load);
  try {
    await runCases(suite, { defs, env }, base, file, load, out, totals);
  } finally {
    env.close();
  }
}

async function runCases(
  suite: TestSuite,
  loaded: { readonly defs: readonly PolicyDefinition[]; readonly env: EvaluationEnvironment },
  base: string,
  file: string,
  load: LoadOptions,
  out: NodeJS.WritableStream,
  totals: TestTotals,
): Promise<void> {
  for (const testCase of suite.cases) {
    const failure = await runCase(testCase, loaded, base, file, load).catch((e: unknown) =>
      errorMessage(e),
    );
    if (failure === undefined) {
      totals.passed++;
      out.write(`PASS ${testCase.name}\n`);
    } else {
      totals.failed++;
      out.write(`FAIL ${testCase.name}: ${failure}\n`);
    }
  }
}

/** Returns undefined when the case passes, else what differed. */
async function runCase(
  c: TestCase,
  suite: { readonly defs: readonly PolicyDefinition[]; readonly env: EvaluationEnvironment },
  base: string,
  file: string,
  load: LoadOptions,
): Promise<string | undefined> {
  let def = selectPolicy(suite.defs, c.policy, file);
  if (c.settings === undefined) return evaluateCase(c, def, suite.env, base);
  def = withSettings(def, c.settings as JsonValue);
  const env = await loadEnvironment([def], load);
  try {
    return await evaluateCase(c, def, env, base);
  } finally {
    env.close();
  }
}

async function evaluateCase(
  c: TestCase,
  def: PolicyDefinition,
  env: EvaluationEnvironment,
  base: string,
): Promise<string | undefined> {
  const requestDoc =
    typeof c.request === 'string'
      ? await readJsonFile(resolve(base, c.request))
      : (c.request as JsonValue);
  const request = parseAdmissionRequest(
    requestDoc,
    typeof c.request === 'string' ? c.request : `case "${c.name}" request`,
  );
  const response = await env.evaluate(def.id, request, 'validate', {
    matchRequest: true,
    context: {
      ...(c.namespaceObject !== undefined
        ? { namespaceObject: c.namespaceObject as JsonValue }
        : {}),
      ...(c.params !== undefined ? { params: c.params as JsonValue } : {}),
    },
  });
  return compare(c.expect, response, request.object);
}

function compare(
  expect: TestExpectation,
  response: AdmissionResponse,
  object: JsonValue | undefined,
): string | undefined {
  const problems: string[] = [];
  const message = response.status?.message ?? '';
  if (response.allowed !== expect.allowed) {
    problems.push(
      `expected allowed=${expect.allowed}, got allowed=${response.allowed}${message ? ` (${message})` : ''}`,
    );
  }
  if (expect.message !== undefined && !message.includes(expect.message)) {
    problems.push(`expected message containing "${expect.message}", got "${message}"`);
  }
  if (expect.code !== undefined && response.status?.code !== expect.code) {
    problems.push(`expected code ${expect.code}, got ${String(response.status?.code ?? 'none')}`);
  }
  for (const w of expect.warnings ?? []) {
    if (!(response.warnings ?? []).some((got) => got.includes(w)))
      problems.push(`expected a warning containing "${w}"`);
  }
  if (expect.patchedObject !== undefined) {
    const patched =
      response.patch === undefined ? object : applyPatch(object, decodePatch(response.patch));
    if (!isDeepStrictEqual(patched, expect.patchedObject)) {
      problems.push(`patched object differs: got ${JSON.stringify(patched)}`);
    }
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}
