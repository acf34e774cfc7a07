#!/usr/bin/env node
import cluster from 'node:cluster';
import { Command, Option } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { runCommand } from '../cli/run.js';
import { serveCommand, type PoliciesSource } from '../cli/serve.js';
import { parseConfigMapRef, type ConfigMapRef } from '../policy-server/index.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import { testCommand } from '../cli/test.js';
import { registerModuleCommands } from './module-commands.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerDevCommand } from './dev-command.js';
import { registerOperatorCommand } from './operator-command.js';
import { registerOciCommands } from './oci-commands.js';
import {
  fail,
  logOptions,
  loggerFrom,
  portNumber,
  positiveInteger,
  signalSource,
  type LogFlags,
} from './options.js';
import { createWasmSupport, wasmOptions, type WasmFlags } from './wasm.js';

/**
 * Composition root of the `palisade` CLI: the only place that reads argv and the
 * environment. Each command receives plain, validated options and a logger.
 */

const EXECUTION_MODES = ['kubewarden-wapc', 'wasi', 'opa', 'gatekeeper'];

const program = new Command('palisade')
  .description(
    'Kubernetes policy engine: CEL and Kubewarden-compatible policies, policy server and tools',
  )
  .showHelpAfterError();

wasmOptions(
  logOptions(
    program
      .command('run')
      .description(
        'evaluate one policy against one admission request and print the AdmissionReview response',
      )
      .requiredOption(
        '-p, --policy <path>',
        'policy manifest (YAML), policies.yml, folder of manifests, or a WebAssembly module (file://x.wasm)',
      )
      .option(
        '--policy-id <id>',
        'policy id or metadata.name, when the source holds several policies',
      )
      .requiredOption('-r, --request <file>', 'AdmissionReview or AdmissionRequest JSON file')
      .option('--settings-json <json>', 'replace the policy settings with this JSON')
      .option('--settings <json>', 'same as --settings-json')
      .addOption(
        new Option(
          '--execution-mode <mode>',
          'execution mode of a module without metadata',
        ).choices(EXECUTION_MODES),
      )
      .option(
        '--namespace-object <file>',
        'Namespace object (JSON) the cluster would supply as namespaceObject',
      )
      .option('--params <file>', 'parameter object (JSON) the cluster would supply as params')
      .option('--ignore-rules', 'evaluate even when the policy rules do not match the request'),
  ),
  true,
).action(
  async (
    opts: LogFlags &
      WasmFlags & {
        policy: string;
        policyId?: string;
        request: string;
        settingsJson?: string;
        settings?: string;
        executionMode?: string;
        namespaceObject?: string;
        params?: string;
        ignoreRules?: boolean;
      },
  ) => {
    const logger = loggerFrom(opts);
    const wasm = await createWasmSupport(opts, logger, { clusterByDefault: false }).catch(fail);
    const settingsJson = opts.settingsJson ?? opts.settings;
    await runCommand(
      { ...opts, ...(settingsJson !== undefined ? { settingsJson } : {}), modules: wasm.modules },
      logger,
      process.stdout,
    )
      .finally(() => wasm.close())
      .catch(fail);
  },
);

wasmOptions(
  logOptions(
    program
      .command('test')
      .description(
        'run policy test suites; ends with "N passed, N failed" and exits 1 when any failed',
      )
      .argument('<suites...>', 'test suite YAML files'),
    'fatal',
  ),
  false,
).action(async (suites: string[], opts: LogFlags & WasmFlags) => {
  const logger = loggerFrom(opts);
  const wasm = await createWasmSupport(opts, logger, { clusterByDefault: false }).catch(fail);
  const totals = await testCommand(suites, { logger, modules: wasm.modules }, process.stdout)
    .finally(() => wasm.close())
    .catch(fail);
  process.exitCode = totals.failed > 0 ? 1 : 0;
});

wasmOptions(
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
      .option(
        '--policies-configmap <namespace/name>',
        'follow the policies.yml key of this ConfigMap instead (hot reload, no restart); kubeconfig from KUBECONFIG or the pod service account',
      )
      .option(
        '--addr <address>',
        'address to bind',
        process.env.PALISADE_BIND_ADDRESS ?? '127.0.0.1',
      )
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
  ),
  false,
).action(
  async (
    opts: LogFlags &
      WasmFlags & {
        policies: string;
        policiesConfigmap?: string;
        addr: string;
        port: number;
        certFile?: string;
        keyFile?: string;
        workers: number;
        policyTimeout: number;
        banner?: boolean;
      },
    command: Command,
  ) => {
    if ((opts.certFile === undefined) !== (opts.keyFile === undefined)) {
      fail(new Error('--cert-file and --key-file go together'));
    }
    const policies = policiesSource(opts, command.getOptionValueSource('policies') === 'cli');
    if (opts.workers > 1 && cluster.isPrimary) {
      forkWorkers(opts.workers);
      return;
    }
    const logger = loggerFrom(opts);
    const source = policies();
    const wasm = await createWasmSupport(opts, logger, { clusterByDefault: true }).catch(fail);
    await serveCommand(
      {
        ...opts,
        source,
        banner: opts.banner === true && cluster.isPrimary,
        modules: wasm.modules,
        release: () => wasm.close(),
      },
      logger,
      signalSource(),
      process.stdout,
    ).catch(fail);
  },
);

/**
 * `--policies` or `--policies-configmap`, checked before any worker forks. The ConfigMap's
 * kubeconfig is loaded later, by the returned function, in the process that serves.
 */
function policiesSource(
  opts: { policies: string; policiesConfigmap?: string },
  policiesGiven: boolean,
): () => PoliciesSource {
  if (opts.policiesConfigmap === undefined) return () => ({ kind: 'file', path: opts.policies });
  if (policiesGiven) {
    fail(
      new PalisadeError(
        'config_invalid',
        '--policies and --policies-configmap are mutually exclusive: serve either a file or a ConfigMap',
      ),
    );
  }
  let configMap: ConfigMapRef;
  try {
    configMap = parseConfigMapRef(opts.policiesConfigmap);
  } catch (e: unknown) {
    fail(e);
  }
  return () => {
    const kubeConfig = new KubeConfig();
    try {
      kubeConfig.loadFromDefault();
      if (!kubeConfig.getCurrentCluster()) throw new Error('no current cluster');
    } catch (e: unknown) {
      fail(
        new PalisadeError(
          'config_invalid',
          `--policies-configmap needs a kubeconfig (KUBECONFIG, ~/.kube/config or the pod's service account): ${errorMessage(e)}`,
        ),
      );
    }
    return { kind: 'configMap', configMap, kubeConfig };
  };
}

registerModuleCommands(program);
registerOciCommands(program);
registerDevCommand(program);
registerOperatorCommand(program);
registerMigrateCommand(program);

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

await program.parseAsync(process.argv);
