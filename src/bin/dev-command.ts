import { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { devCommand } from '../cli/dev.js';
import { crdsServed, installCrds } from '../operator/crd-install.js';
import { watchPolicies } from '../operator/policy-watch.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import { createKubeHttp } from '../shared/kube-http.js';
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
    const kubeConfig = new KubeConfig();
    try {
      kubeConfig.loadFromDefault();
      if (!kubeConfig.getCurrentCluster()) throw new Error('no current cluster');
    } catch (e) {
      fail(
        new PalisadeError('config_invalid', `palisade dev needs a kubeconfig: ${errorMessage(e)}`),
      );
    }
    const api = createKubeHttp(kubeConfig);
    if (opts.installCrds === true) await installCrds(api).catch(fail);
    else if (!(await crdsServed(api).catch(fail))) {
      fail(
        new PalisadeError(
          'config_invalid',
          'the cluster does not serve policies.palisade.dev/v1: apply crds/ (kubectl apply -f crds/) or run palisade dev --install-crds',
        ),
      );
    }
    const wasm = await createWasmSupport(opts, logger, { clusterByDefault: true }).catch(fail);
    await devCommand(
      {
        api,
        watchPolicies: (onChange) =>
          watchPolicies(kubeConfig, logger.child({ component: 'operator' }), onChange, {
            resyncPeriodMs: opts.resyncSeconds * 1000,
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
