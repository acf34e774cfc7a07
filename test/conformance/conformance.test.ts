import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createBaseEnvironment } from '../../src/cel/environment.js';
import { diffKnownFailures, summarize, totals } from '../../src/cel/conformance/report.js';
import type { KnownFailures } from '../../src/cel/conformance/report.js';
import { runSuite } from '../../src/cel/conformance/runner.js';

// The cel-spec checkout sits next to the repository (../shared/data/cel-spec), as for `npm run conformance`.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = join(repoRoot, '..', 'shared', 'data', 'cel-spec');
const known = JSON.parse(
  readFileSync(join(repoRoot, 'test', 'conformance', 'known-failures.json'), 'utf8'),
) as KnownFailures;

describe('cel-spec conformance', () => {
  const results = runSuite(dataDir, createBaseEnvironment);
  const diff = diffKnownFailures(results, known);

  it('loads every simple test file', () => {
    expect(results.length).toBeGreaterThanOrEqual(30);
    expect(totals(results.map(summarize)).tests).toBeGreaterThan(2400);
  });

  it('has no failures beyond test/conformance/known-failures.json', () => {
    expect(diff.unexpectedFailures).toEqual([]);
  });

  it('lists no known failure that now passes (regenerate with --write-known-failures)', () => {
    expect(diff.unexpectedPasses).toEqual([]);
  });
});
