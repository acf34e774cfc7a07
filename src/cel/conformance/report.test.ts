import { describe, expect, it } from 'vitest';
import {
  diffKnownFailures,
  formatConsole,
  formatKnownFailures,
  formatMarkdown,
  knownFailuresOf,
  summarize,
  totals,
} from './report.js';
import type { FileResult } from './runner.js';

const results: FileResult[] = [
  {
    file: 'a',
    outcomes: [
      { id: 's/p', status: 'pass', detail: '' },
      { id: 's/f', status: 'fail', detail: 'expected 1, got 2' },
      { id: 's/x', status: 'excluded', detail: 'needs google.protobuf message types' },
    ],
  },
  { file: 'b', outcomes: [{ id: 's/p', status: 'pass', detail: '' }] },
];

describe('report', () => {
  it('summarizes per file and in total', () => {
    expect(summarize(results[0]!)).toEqual({
      file: 'a',
      tests: 3,
      jsonOnly: 2,
      passed: 1,
      failed: 1,
    });
    expect(totals(results.map(summarize))).toEqual({
      file: 'total',
      tests: 4,
      jsonOnly: 3,
      passed: 2,
      failed: 1,
    });
  });

  it('renders the Markdown table with failures and exclusions', () => {
    const md = formatMarkdown(results, 'npm run conformance -- --write docs/conformance.md');
    expect(md).toContain('| file | tests | JSON-only | passed | failed | percentage |');
    expect(md).toContain('| a | 3 | 2 | 1 | 1 | 50.0 % |');
    expect(md).toContain('| **total** | **4** | **3** | **2** | **1** | **66.7 %** |');
    expect(md).toContain('- `s/f`: expected 1, got 2');
    expect(md).toContain('- `s/x`: needs google.protobuf message types');
    expect(formatConsole(results)).toMatch(/total\s+4\s+3\s+2\s+1\s+66\.7 %/);
  });

  it('diffs against the known-failures list in both directions', () => {
    expect(knownFailuresOf(results)).toEqual({ a: ['s/f'] });
    expect(diffKnownFailures(results, { a: ['s/f'] })).toEqual({
      unexpectedFailures: [],
      unexpectedPasses: [],
    });
    expect(diffKnownFailures(results, { b: ['s/p'] })).toEqual({
      unexpectedFailures: ['a: s/f'],
      unexpectedPasses: ['b: s/p'],
    });
  });

  it('formats the known-failures list as Prettier would: short arrays inline, long ones expanded', () => {
    const long = Array.from({ length: 6 }, (_, i) => `section/a_rather_long_test_name_${i}`);
    expect(formatKnownFailures({ a: ['s/f'], b: long })).toBe(
      `{\n  "a": ["s/f"],\n  "b": [\n${long.map((id) => `    "${id}"`).join(',\n')}\n  ]\n}\n`,
    );
    expect(formatKnownFailures({})).toBe('{}\n');
  });
});
