#!/usr/bin/env node
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCrds } from '../api/crd/render.js';
import { PALISADE_GROUP } from '../api/policies/v1.js';
import { errorMessage } from '../shared/errors.js';

/**
 * `npm run crds`: writes crds/<plural>.policies.palisade.dev.yaml from the TypeBox schemas in
 * src/api. Generated files no longer produced (a renamed kind) are removed, so the directory
 * holds exactly what the schemas define. `--check` writes nothing and fails when the files
 * differ, for CI.
 */

const USAGE = `usage: crds [--out DIR] [--check]
  --out DIR  where to write the CRDs (default: crds/ at the repository root)
  --check    compare instead of writing; exit 1 when a file is missing or out of date`;

function main(argv: readonly string[]): number {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      out: { type: 'string' },
      check: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  // dist/bin/crds.js → repository root two levels up.
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const out = resolve(values.out ?? join(repoRoot, 'crds'));
  const files = generateCrds();
  const wanted = new Set(files.map((f) => f.fileName));
  mkdirSync(out, { recursive: true });
  const stale = readdirSync(out).filter(
    (name) => name.endsWith(`.${PALISADE_GROUP}.yaml`) && !wanted.has(name),
  );
  const shown = (name: string) => relative(process.cwd(), join(out, name)) || name;
  if (values.check) {
    const outdated = files
      .filter((f) => read(join(out, f.fileName)) !== f.content)
      .map((f) => f.fileName);
    for (const name of outdated) console.error(`${shown(name)} is missing or out of date`);
    for (const name of stale) console.error(`${shown(name)} is no longer generated`);
    if (outdated.length + stale.length === 0) return 0;
    console.error('run npm run crds');
    return 1;
  }
  for (const f of files) writeFileSync(join(out, f.fileName), f.content);
  for (const name of stale) rmSync(join(out, name));
  console.log(`wrote ${String(files.length)} CRDs to ${relative(process.cwd(), out) || '.'}`);
  return 0;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e: unknown) {
  console.error(`crds: ${errorMessage(e)}`);
  process.exitCode = 2;
}
