#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { runCommand } from '../cli/run.js';
import { testCommand } from '../cli/test.js';
import { isPalisadeError, errorMessage } from '../shared/errors.js';
import { createLogger, type LogFormat, type LogLevel } from '../shared/logger.js';

/**
 * Composition root of the `palisade` CLI: the only place that reads argv and the
 * environment. Each command receives plain, validated options and a logger.
 */

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

function logOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(LOG_LEVELS)
        .default(process.env.PALISADE_LOG_LEVEL ?? 'warn'),
    )
    .addOption(
      new Option('--log-fmt <format>', 'log format').choices(['text', 'json']).default('text'),
    );
}

function loggerFrom(opts: { logLevel: string; logFmt: string }) {
  return createLogger({ level: opts.logLevel as LogLevel, format: opts.logFmt as LogFormat });
}

function fail(e: unknown): never {
  const code = isPalisadeError(e) ? `[${e.code}] ` : '';
  process.stderr.write(`palisade: ${code}${errorMessage(e)}\n`);
  process.exit(2);
}

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const program = new Command('palisade')
  .description(
    'Kubernetes policy engine: CEL and Kubewarden-compatible policies, policy server and tools',
  )
  .showHelpAfterError();

logOptions(
  program
    .command('run')
    .description(
      'evaluate one policy against one admission request and print the AdmissionReview response',
    )
    .requiredOption(
      '-p, --policy <path>',
      'policy manifest (YAML), policies.yml, or a folder of manifests',
    )
    .option(
      '--policy-id <id>',
      'policy id or metadata.name, when the source holds several policies',
    )
    .requiredOption('-r, --request <file>', 'AdmissionReview or AdmissionRequest JSON file')
    .option('--settings-json <json>', 'replace the policy settings with this JSON')
    .option(
      '--namespace-object <file>',
      'Namespace object (JSON) the cluster would supply as namespaceObject',
    )
    .option('--params <file>', 'parameter object (JSON) the cluster would supply as params')
    .option('--ignore-rules', 'evaluate even when the policy rules do not match the request'),
).action(
  async (opts: {
    policy: string;
    policyId?: string;
    request: string;
    settingsJson?: string;
    namespaceObject?: string;
    params?: string;
    ignoreRules?: boolean;
    logLevel: string;
    logFmt: string;
  }) => {
    await runCommand(opts, loggerFrom(opts), process.stdout).catch(fail);
  },
);

logOptions(
  program
    .command('test')
    .description(
      'run policy test suites; ends with "N passed, N failed" and exits 1 when any failed',
    )
    .argument('<suites...>', 'test suite YAML files'),
  'fatal',
).action(async (suites: string[], opts: { logLevel: string; logFmt: string }) => {
  const totals = await testCommand(suites, loggerFrom(opts), process.stdout).catch(fail);
  process.exitCode = totals.failed > 0 ? 1 : 0;
});

await program.parseAsync(process.argv);
