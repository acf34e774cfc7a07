import { setTimeout as delay } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../shared/errors.js';
import type { KubeHttp } from '../shared/kube-http.js';
import type { Logger } from '../shared/logger.js';
import { PolicyController } from './controller.js';
import { startInformer, type Informer } from './informer.js';
import { startLeaderElection, type LeaderElection } from './leader.js';
import {
  PolicyServerController,
  type PolicyServerControllerOptions,
} from './policy-server-controller.js';
import { watchPolicies, type PolicyWatch } from './policy-watch.js';
import { serialScheduler } from './scheduler.js';

/** The Lease the operator replicas share (in the operator namespace). */
export const LEASE_NAME = 'palisade-operator';

export interface ClusterOperatorOptions {
  readonly kubeConfig: KubeConfig;
  readonly api: KubeHttp;
  /** Where the operator runs: the CA Secret, the Lease and every policy server object. */
  readonly namespace: string;
  readonly defaultImage: string;
  /** Off: this process reconciles at once, alone (one replica, or tests). */
  readonly leaderElection: boolean;
  /** Unique among the replicas (pod name and pid). */
  readonly identity: string;
  /** Full reconcile this often even without events: repairs drift (a deleted Deployment). */
  readonly resyncMs: number;
  /** See {@link PolicyServerControllerOptions.stateReader}. */
  readonly stateReader?: PolicyServerControllerOptions['stateReader'];
}

/** A running operator; `stop` releases the lease (a standby takes over at once). */
export interface ClusterOperator {
  isLeader(): boolean;
  stop(): Promise<void>;
}

/** First re-ask after a policy server had no report on what it was given; doubles to resync. */
const REQUEUE_INITIAL_MS = 500;

/**
 * `palisade operator`: informers on the four policy kinds and on PolicyServers feed one serial,
 * coalescing reconcile (PolicyServers first, then policies, whose sinks are the PolicyServers'
 * ConfigMaps); webhooks call the policy servers' Services with the operator CA as caBundle.
 *
 * The informers run in every replica, so a standby has warm caches when it takes over; the
 * reconcile runs only while this process holds the Lease. Losing the lease stops new runs
 * and waits for the one under way before the elector campaigns again, so two replicas never
 * write at once through this process (a run in flight when the renew deadline passes may
 * still finish its writes: the deadline is shorter than the lease for that reason).
 */
export async function startClusterOperator(
  options: ClusterOperatorOptions,
  logger: Logger,
): Promise<ClusterOperator> {
  const log = logger.child({ component: 'operator' });
  const servers = new PolicyServerController({
    api: options.api,
    logger: log.child({ controller: 'policyserver' }),
    namespace: options.namespace,
    defaultImage: options.defaultImage,
    ...(options.stateReader ? { stateReader: options.stateReader } : {}),
  });
  const policies = new PolicyController({
    api: options.api,
    logger: log.child({ controller: 'policy' }),
    webhooks: {
      operatorNamespace: options.namespace,
      target: { kind: 'service', namespace: options.namespace },
      // Read at every webhook write: a CA rotation reaches every webhook on the next run.
      get caBundle() {
        return servers.caBundle();
      },
    },
    sinkFor: (name) => servers.sinkFor(name),
  });
  const state = { leading: false, firstRun: true, requeueMs: REQUEUE_INITIAL_MS };
  const started = performance.now();
  let requeue: NodeJS.Timeout | undefined;
  const cache: { watch?: PolicyWatch; servers?: Informer } = {};

  const reconcile = async (): Promise<void> => {
    if (!state.leading || cache.watch === undefined || cache.servers === undefined) return;
    const began = performance.now();
    const list = cache.watch.list();
    await servers.reconcile(cache.servers.list(), list);
    if (servers.caBundle() === '') throw new Error('no operator CA yet: webhooks wait for it');
    await policies.reconcile(list);
    const ms = Math.round(performance.now() - began);
    if (state.firstRun) {
      state.firstRun = false;
      log.info(
        { ms, sinceStartMs: Math.round(performance.now() - started) },
        'first reconcile done',
      );
    } else {
      log.debug({ ms }, 'reconciled');
    }
    clearTimeout(requeue);
    if (servers.awaitingReport()) {
      requeue = setTimeout(schedule, state.requeueMs);
      state.requeueMs = Math.min(state.requeueMs * 2, options.resyncMs);
    } else {
      state.requeueMs = REQUEUE_INITIAL_MS;
    }
  };
  const scheduler = serialScheduler(reconcile, log);
  function schedule(): void {
    if (state.leading) scheduler();
  }

  const handlers = { onAdd: schedule, onUpdate: schedule, onDelete: schedule };
  cache.servers = startInformer({
    kubeConfig: options.kubeConfig,
    resource: { group: 'policies.palisade.dev', version: 'v1', plural: 'policyservers' },
    logger: log.child({ informer: 'policyservers' }),
    handlers,
    resyncPeriodMs: 0,
  });
  try {
    cache.watch = await watchPolicies(options.kubeConfig, log, schedule, { resyncPeriodMs: 0 });
    if (!(await cache.servers.waitForSync())) throw new Error('the PolicyServer informer stopped');
  } catch (e: unknown) {
    await cache.servers.stop();
    throw e;
  }

  const lead = async (signal: AbortSignal): Promise<void> => {
    state.leading = true;
    log.info({ identity: options.identity }, 'leading: reconciling');
    scheduler();
    const resync = setInterval(schedule, options.resyncMs);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener(
        'abort',
        () => {
          resolve();
        },
        { once: true },
      );
    });
    state.leading = false;
    clearInterval(resync);
    clearTimeout(requeue);
    await scheduler.idle();
    log.info('stopped reconciling');
  };

  let election: LeaderElection | undefined;
  /** Without an election: the one leadership, which ends with `stop`. */
  let leading: Promise<void> = Promise.resolve();
  const standby = new AbortController();
  if (options.leaderElection) {
    election = startLeaderElection({
      kubeConfig: options.kubeConfig,
      namespace: options.namespace,
      name: LEASE_NAME,
      identity: options.identity,
      logger: log,
      onStartedLeading: lead,
    });
    void reportStandby(options, log, () => election?.isLeader() ?? false, standby.signal);
  } else {
    leading = lead(standby.signal);
  }
  log.info(
    {
      identity: options.identity,
      namespace: options.namespace,
      leaderElection: options.leaderElection,
    },
    'palisade operator: running',
  );

  return {
    isLeader: () => state.leading,
    async stop() {
      standby.abort();
      if (election !== undefined) await election.stop();
      else await leading;
      await Promise.all([cache.servers?.stop(), cache.watch?.stop()]);
    },
  };
}

/**
 * Says, once per holder, which replica leads while this one waits: without it a standby's log
 * is silent and looks like a hung operator.
 */
async function reportStandby(
  options: ClusterOperatorOptions,
  log: Logger,
  leading: () => boolean,
  signal: AbortSignal,
): Promise<void> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases/${LEASE_NAME}`;
  let reported: string | undefined;
  const stopped = () => signal.aborted;
  while (!stopped()) {
    await delay(reported === undefined ? 1_000 : 5_000, undefined, { signal }).catch(
      () => undefined,
    );
    if (stopped()) return;
    if (leading()) {
      reported = options.identity;
      continue;
    }
    try {
      const lease = await options.api.request('GET', path, undefined, { what: 'read the Lease' });
      const spec = lease['spec'] as { holderIdentity?: unknown } | undefined;
      const holder = typeof spec?.holderIdentity === 'string' ? spec.holderIdentity : '';
      if (holder !== '' && holder !== options.identity && holder !== reported) {
        reported = holder;
        log.info(
          { holder, lease: `${options.namespace}/${LEASE_NAME}` },
          'standing by: another operator leads',
        );
      }
    } catch (e: unknown) {
      log.debug({ error: errorMessage(e) }, 'cannot read the Lease');
    }
  }
}
