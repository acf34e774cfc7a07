#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBaseEnvironment } from '../cel/environment.js';
import {
  formatConsole,
  formatKnownFailures,
  formatMarkdown,
  knownFailuresOf,
  summarize,
  totals,
} from '../cel/conformance/report.js';
import { runSuite } from '../cel/conformance/runner.js';

/**
 * `npm run conformance`: runs the cel-spec simple tests against Palisade's root CEL
 * environment and prints the per-file table. `--write` regenerates docs/conformance.md and
 * `--write-known-failures` the list the regression test compares against.
 */

const USAGE = `usage: conformance [--data DIR] [--write FILE] [--write-known-failures FILE] [--verbose]
  --data DIR                   cel-spec checkout (default: ../shared/data/cel-spec from the repo root)
  --write FILE                 write the Markdown report (docs/conformance.md)
  --write-known-failures FILE  write the failing test ids as JSON (test/conformance/known-failures.json)
  --verbose                    print every failing test with its reason`;

function main(argv: readonly string[]): number {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      data: { type: 'string' },
      write: { type: 'string' },
      'write-known-failures': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  // dist/bin/conformance.js → repository root two levels up.
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dataDir = resolve(values.data ?? join(repoRoot, '..', 'shared', 'data', 'cel-spec'));

  const results = runSuite(dataDir, createBaseEnvironment);
  console.log(formatConsole(results));
  if (values.verbose) {
    for (const r of results) {
      for (const o of r.outcomes)
        if (o.status === 'fail') console.log(`FAIL ${r.file}: ${o.id}: ${o.detail}`);
    }
  }
  if (values.write !== undefined) {
    const dataShown = values.data === undefined ? '' : ` --data ${relative(repoRoot, dataDir)}`;
    const command = `npm run conformance --${dataShown} --write ${relative(repoRoot, resolve(values.write))}`;
    writeFileSync(values.write, formatMarkdown(results, command));
  }
  const knownPath = values['write-known-failures'];
  if (knownPath !== undefined) {
    writeFileSync(knownPath, formatKnownFailures(knownFailuresOf(results)));
  }
  const total = totals(results.map(summarize));
  console.log(`JSON-only: ${total.passed}/${total.jsonOnly} passed`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  console.error(USAGE);
  process.exitCode = 2;
}
