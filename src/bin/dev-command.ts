import type { Command } from 'commander';
import { devCommand } from '../cli/dev.js';
import { watchPolicies } from '../operator/policy-watch.js';
import { connectCluster } from './cluster.js';
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

interface DevFlags extends LogFlags, WasmFlags {
  readonly namespace: string;
  readonly port: number;
  readonly policyTimeout: number;
  readonly resyncSeconds: number;
  readonly installCrds?: boolean;
}

/** `palisade dev`: the operator and a policy server on this machine, for the current kubeconfig. */
export function registerDevCommand(program: Command): void {
  wasmOptions(
    logOptions(
      program
        .command('dev')
        .description(
          'run the controller and a policy server on this machine against the current kubeconfig (webhooks registered by URL)',
        )
        .option(
          '--namespace <name>',
          'namespace cluster-wide policies leave alone',
          'palisade-system',
        )
        .option(
          '--port <port>',
          'policy server port on 127.0.0.1 (0: any free port)',
          portNumber,
          0,
        )
        .option(
          '--policy-timeout <seconds>',
          'default evaluation budget per policy',
          positiveInteger,
          2,
        )
        .option(
          '--resync-seconds <n>',
          'full reconcile period (repairs drift)',
          positiveInteger,
          30,
        )
        .option('--install-crds', "apply Palisade's CRDs first"),
      'info',
    ),
    false,
  ).action(async (opts: DevFlags) => {
    const logger = loggerFrom(opts);
    const { kubeConfig, api } = await connectCluster('dev', {
      installCrds: opts.installCrds === true,
    }).catch(fail);
    const wasm = await createWasmSupport(opts, logger, { clusterByDefault: true }).catch(fail);
    await devCommand(
      {
        api,
        watchPolicies: (onChange) =>
          // No informer resync: devCommand's own timer reconciles every resyncMs already.
          watchPolicies(kubeConfig, logger.child({ component: 'operator' }), onChange, {
            resyncPeriodMs: 0,
          }),
        namespace: opts.namespace,
        port: opts.port,
        policyTimeout: opts.policyTimeout,
        resyncMs: opts.resyncSeconds * 1000,
        modules: wasm.modules,
        release: () => wasm.close(),
      },
      logger,
      signalSource(),
    ).catch(fail);
  });
}
