#!/usr/bin/env node
import cluster from 'node:cluster';
import { Command, InvalidArgumentError, Option } from 'commander';
import { runCommand } from '../cli/run.js';
import { serveCommand } from '../cli/serve.js';
import type { SignalSource } from '../policy-server/index.js';
import { testCommand } from '../cli/test.js';
import { isPalisadeError, errorMessage } from '../shared/errors.js';
import { createLogger, type LogFormat, type LogLevel } from '../shared/logger.js';

/**
 * Composition root of the `palisade` CLI: the only place that reads argv and the
 * environment. Each command receives plain, validated options and a logger.
 */

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** `defaultLevel` differs per command: `test` reports failures in its own lines, so its logs stay quiet. */
function logOptions(command: Command, defaultLevel = 'warn'): Command {
  return command
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices([...LOG_LEVELS, 'fatal'])
        .default(process.env.PALISADE_LOG_LEVEL ?? defaultLevel),
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

logOptions(
  program
    .command('serve')
    .description(
      "serve policies with Kubewarden's policy-server API (/validate, /validate_raw, /audit, /readiness, /metrics)",
    )
    .option(
      '--policies <path>',
      'policies.yml, a manifest file, or a folder of manifests',
      process.env.PALISADE_POLICIES ?? 'policies.yml',
    )
    .option('--addr <address>', 'address to bind', process.env.PALISADE_BIND_ADDRESS ?? '127.0.0.1')
    .option(
      '--port <port>',
      'port to listen on',
      portNumber,
      Number(process.env.PALISADE_PORT ?? 3000),
    )
    .option('--cert-file <file>', 'TLS certificate (PEM); plain HTTP without it')
    .option('--key-file <file>', 'TLS private key (PEM)')
    .option('--workers <n>', 'server processes sharing the port', positiveInteger, 1)
    .option(
      '--policy-timeout <seconds>',
      'default evaluation budget per policy',
      positiveInteger,
      2,
    )
    .option('--banner', 'print how to try the server with curl'),
  'info',
).action(
  async (opts: {
    policies: string;
    addr: string;
    port: number;
    certFile?: string;
    keyFile?: string;
    workers: number;
    policyTimeout: number;
    banner?: boolean;
    logLevel: string;
    logFmt: string;
  }) => {
    if ((opts.certFile === undefined) !== (opts.keyFile === undefined)) {
      fail(new Error('--cert-file and --key-file go together'));
    }
    if (opts.workers > 1 && cluster.isPrimary) {
      forkWorkers(opts.workers);
      return;
    }
    const logger = loggerFrom(opts);
    await serveCommand(
      { ...opts, banner: opts.banner === true && cluster.isPrimary },
      logger,
      signalSource(),
      process.stdout,
    ).catch(fail);
  },
);

/** The part of `process` the server's shutdown handlers need. */
function signalSource(): SignalSource {
  return {
    on: (event, listener) => process.on(event, listener),
    off: (event, listener) => process.off(event, listener),
    get exitCode() {
      return process.exitCode ?? undefined;
    },
    set exitCode(code) {
      process.exitCode = code;
    },
  };
}

/** Several processes on one port (node:cluster); signals are forwarded so each drains. */
function forkWorkers(n: number): void {
  const workers = Array.from({ length: n }, () => cluster.fork());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      for (const w of workers) w.process.kill(signal);
    });
  }
  cluster.on('exit', (worker, code) => {
    if (code !== 0) process.exitCode = code;
    if (Object.keys(cluster.workers ?? {}).length === 0)
      process.stderr.write(`palisade: all ${n} workers stopped (last: ${worker.id})\n`);
  });
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

await program.parseAsync(process.argv);
