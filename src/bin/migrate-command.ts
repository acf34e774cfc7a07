import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  formatFinding,
  formatSummary,
  losesInformation,
  migrateManifests,
  type MigrationInput,
  type MigrationResult,
} from '../cli/migrate.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import { fail } from './options.js';

const EXIT_CODES = `
Output: the migrated YAML on stdout (or --output), documents in input order, comments kept.
Report: one line per finding on stderr, then a summary line.

Exit codes:
  0  everything was carried over (notes such as a dropped status do not count)
  1  something was lost or needs action: unknown fields dropped, PolicyServer fields or
     images Palisade does not support, policies Palisade would not load
  2  error: unreadable file, YAML syntax error (file:line:col), bad arguments
`;

/** `palisade migrate`: the I/O around the pure `migrateManifests`. */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description(
      "rewrite Kubewarden manifests to Palisade's group (policies.palisade.dev/v1) and report what cannot be carried over",
    )
    .argument('<files...>', 'Kubewarden manifests (YAML, multi-document); - reads stdin')
    .option('-o, --output <file>', 'write the migrated YAML to this file instead of stdout')
    .option(
      '--verbose',
      'also report documents copied unchanged and Kubewarden label/annotation keys kept',
    )
    .addHelpText('after', EXIT_CODES)
    // Usage errors exit 2 here, as the help promises (commander's default is 1, which means findings).
    .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
    .action(async (files: string[], opts: { output?: string; verbose?: boolean }) => {
      if (files.filter((f) => f === '-').length > 1) fail(new Error('- (stdin) may be given once'));
      const inputs = await Promise.all(files.map(readInput)).catch(fail);
      const result = migrateOrFail(inputs);
      if (opts.output === undefined) process.stdout.write(result.output);
      else await writeOutput(opts.output, result.output).catch(fail);
      const shown = result.findings.filter((f) => opts.verbose === true || f.level !== 'verbose');
      const report = [...shown.map(formatFinding), formatSummary(result)];
      process.stderr.write(`${report.join('\n')}\n`);
      process.exitCode = result.findings.some(losesInformation) ? 1 : 0;
    });
}

function migrateOrFail(inputs: readonly MigrationInput[]): MigrationResult {
  try {
    return migrateManifests(inputs);
  } catch (e) {
    return fail(e);
  }
}

async function readInput(file: string): Promise<MigrationInput> {
  try {
    if (file === '-') return { source: '<stdin>', text: await readStdin() };
    return { source: file, text: await readFile(file, 'utf8') };
  } catch (e) {
    throw new PalisadeError('file_unreadable', `cannot read ${file}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function writeOutput(file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text);
  } catch (e) {
    throw new PalisadeError('file_unreadable', `cannot write ${file}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}
