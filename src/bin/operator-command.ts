import { hostname } from 'node:os';
import type { Command } from 'commander';
import { startClusterOperator } from '../operator/cluster-operator.js';
import { installShutdownHandlers } from '../policy-server/index.js';
import { connectCluster } from './cluster.js';
import {
  fail,
  logOptions,
  loggerFrom,
  positiveInteger,
  signalSource,
  type LogFlags,
} from './options.js';

interface OperatorFlags extends LogFlags {
  readonly namespace: string;
  readonly defaultImage: string;
  readonly leaderElection: boolean;
  readonly resyncSeconds: number;
  readonly installCrds?: boolean;
}

/** The image PolicyServers run when their `spec.image` is empty. */
export const DEFAULT_POLICY_SERVER_IMAGE = 'ghcr.io/palisade/palisade:latest';

/**
 * `palisade operator`: the in-cluster controller. Reads the environment Kubernetes sets for a
 * pod (POD_NAMESPACE, POD_NAME through the downward API), which is why it lives here.
 */
export function registerOperatorCommand(program: Command): void {
  logOptions(
    program
      .command('operator')
      .description(
        'run the in-cluster operator: PolicyServers become Deployments, policies go to their ConfigMaps, webhooks call their Services',
      )
      .option(
        '--namespace <name>',
        'operator namespace (CA Secret, Lease, policy server objects); $POD_NAMESPACE when set',
        process.env['POD_NAMESPACE'] ?? 'palisade-system',
      )
      .option(
        '--default-image <image>',
        'policy server image for PolicyServers without spec.image',
        DEFAULT_POLICY_SERVER_IMAGE,
      )
      .option('--no-leader-election', 'reconcile without holding the Lease (a single replica)')
      .option('--resync-seconds <n>', 'full reconcile period (repairs drift)', positiveInteger, 60)
      .option('--install-crds', "apply Palisade's CRDs first"),
    'info',
  ).action(async (opts: OperatorFlags) => {
    const logger = loggerFrom(opts);
    const { kubeConfig, api } = await connectCluster('operator', {
      installCrds: opts.installCrds === true,
    }).catch(fail);
    const operator = await startClusterOperator(
      {
        kubeConfig,
        api,
        namespace: opts.namespace,
        defaultImage: opts.defaultImage,
        leaderElection: opts.leaderElection,
        identity: `${process.env['POD_NAME'] ?? hostname()}_${String(process.pid)}`,
        resyncMs: opts.resyncSeconds * 1000,
      },
      logger,
    ).catch(fail);
    installShutdownHandlers(
      {
        async close() {
          // Releases the lease once the run under way is done: a standby takes over at once.
          await operator.stop();
        },
      },
      logger,
      signalSource(),
      {
        onClosed: () => {
          api.close();
        },
      },
    );
  });
}
