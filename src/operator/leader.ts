import { setTimeout as delay } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { createKubeHttp, hasStatus } from '../shared/kube-http.js';
import {
  createLeaseStore,
  microTime,
  sameRecord,
  type Lease,
  type LeaseRecord,
  type LeaseStore,
} from './leader-lease.js';

/** What an elector needs besides where its lease lives. */
export interface ElectorOptions {
  /**
   * This process, unique among the candidates (pod name plus a random suffix): a candidate that
   * finds its own identity in the lease resumes leadership at once, as client-go does, so two
   * processes sharing an identity would both lead.
   */
  readonly identity: string;
  readonly logger: Logger;
  /** How long a holder's claim stands after its last observed renewal. Default 15 s. */
  readonly leaseDurationMs?: number;
  /**
   * How long the leader keeps leading while renewals fail. Default 10 s. Shorter than the lease
   * so a leader that cannot renew gives up before any standby may take over.
   */
  readonly renewDeadlineMs?: number;
  /** Pause between attempts, both to renew and to acquire. Default 2 s. */
  readonly retryPeriodMs?: number;
  /**
   * Leadership began. Start the leader-only work here and end it when `signal` aborts: the
   * elector waits for a returned promise to settle before it campaigns again or releases the
   * lease, so the work of two leaders never overlaps through this process. A promise that
   * never settles after the abort therefore blocks `stop()`.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /**
   * Leadership ended: lost (renew deadline passed, someone else holds the lease) or stopped.
   * Called once per leadership, right after the signal aborted and before the work settled, so
   * a process that prefers to exit on loss (controller-runtime's choice) can do so promptly.
   */
  onStoppedLeading?(): void;
}

/** {@link ElectorOptions} plus the cluster and the Lease `namespace/name` the candidates share. */
export interface LeaderElectionOptions extends ElectorOptions {
  readonly kubeConfig: KubeConfig;
  /** Namespace of the Lease; the identity needs get, create and update on leases there. */
  readonly namespace: string;
  readonly name: string;
}

/** How {@link LeaderElection.stop} leaves the lease. */
export interface StopOptions {
  /**
   * Clear `holderIdentity` so a standby takes over on its next attempt instead of waiting a
   * whole lease duration. Default true. `false` walks away as a crashed process would, which
   * tests use to exercise expiry.
   */
  readonly release?: boolean;
}

/** A running election; it campaigns, leads and campaigns again until `stop()`. */
export interface LeaderElection {
  /**
   * True while this process holds the lease, judged on the local monotonic clock: false as soon
   * as the renew deadline has passed since the last successful renewal, even when the event loop
   * was too busy for the renew loop to notice yet.
   */
  isLeader(): boolean;
  /** Ends the election: aborts the work, waits for it, then (by default) releases the lease. */
  stop(options?: StopOptions): Promise<void>;
}

/** client-go's defaults (LeaseDuration 15 s, RenewDeadline 10 s, RetryPeriod 2 s). */
export const LEADER_ELECTION_DEFAULTS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

/** client-go's JitterFactor: candidates wait retryPeriod × [1, 2.2) so they do not stampede. */
const JITTER = 1.2;

/**
 * Elects one leader among the processes sharing the Lease `namespace/name`, with client-go's
 * semantics so Palisade interoperates with Go controllers on the same lease:
 * - a candidate takes the lease when it is absent, free (empty holder) or expired;
 * - expiry is judged by watching the record stay unchanged for `leaseDurationSeconds` on the
 *   candidate's own monotonic clock, never by comparing `renewTime` with the local clock, so
 *   clock skew between nodes cannot hand the lease to two processes;
 * - every write is a replace naming the resourceVersion that was read, so of two candidates
 *   that judged the lease free only one succeeds (409 Conflict for the other);
 * - the leader renews every retry period and gives up when no renewal succeeded for the renew
 *   deadline, or at once when it finds another holder.
 * After losing, the elector campaigns again; `stop()` ends it for good.
 */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const http = createKubeHttp(options.kubeConfig);
  let election: LeaderElection;
  try {
    election = electLeader(createLeaseStore(http, options.namespace, options.name), options);
  } catch (e: unknown) {
    http.close();
    throw e;
  }
  return {
    isLeader: () => election.isLeader(),
    async stop(stopOptions) {
      try {
        await election.stop(stopOptions);
      } finally {
        http.close();
      }
    },
  };
}

/** {@link startLeaderElection} over any {@link LeaseStore}; unit tests pass an in-memory one. */
export function electLeader(store: LeaseStore, options: ElectorOptions): LeaderElection {
  const elector = new Elector(store, options, timingOf(options));
  elector.start();
  return {
    isLeader: () => elector.isLeader(),
    stop: (stopOptions) => elector.stop(stopOptions?.release ?? true),
  };
}

interface Timing {
  readonly leaseMs: number;
  readonly leaseSeconds: number;
  readonly renewDeadlineMs: number;
  readonly retryMs: number;
}

function timingOf(options: ElectorOptions): Timing {
  const leaseMs = options.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs;
  const renewDeadlineMs = options.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs;
  const retryMs = options.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs;
  const invalid = (message: string) =>
    new PalisadeError('config_invalid', `leader election: ${message}`);
  if (options.identity === '') throw invalid('identity must not be empty');
  if (![leaseMs, renewDeadlineMs, retryMs].every((n) => Number.isFinite(n) && n > 0)) {
    throw invalid('durations must be positive numbers of milliseconds');
  }
  // The lease stores whole seconds; less than one would be written as zero.
  if (leaseMs < 1_000) throw invalid('leaseDurationMs must be at least 1000');
  if (leaseMs <= renewDeadlineMs) {
    throw invalid('leaseDurationMs must be greater than renewDeadlineMs');
  }
  if (renewDeadlineMs <= retryMs * JITTER) {
    throw invalid(`renewDeadlineMs must be greater than retryPeriodMs × ${JITTER}`);
  }
  return { leaseMs, leaseSeconds: Math.ceil(leaseMs / 1_000), renewDeadlineMs, retryMs };
}

type Outcome = 'acquired' | 'held' | 'failed';

class Elector {
  private readonly stopping = new AbortController();
  private readonly log: Logger;
  private loop: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | undefined;
  private leading = false;
  /** performance.now() when the last successful write began: the renew deadline counts from it. */
  private renewedAt = -Infinity;
  /** The lease as last read or written; its resourceVersion guards the next write. */
  private lease: Lease | undefined;
  private observed: LeaseRecord | undefined;
  private observedAt = 0;
  private holdsAtStop = false;

  constructor(
    private readonly store: LeaseStore,
    private readonly options: ElectorOptions,
    private readonly timing: Timing,
  ) {
    this.log = options.logger.child({ lease: store.description, identity: options.identity });
  }

  start(): void {
    this.loop = this.campaign().catch((e: unknown) => {
      this.leading = false;
      this.log.error({ err: errorMessage(e) }, 'leader election stopped by a bug');
    });
  }

  isLeader(): boolean {
    return this.leading && performance.now() - this.renewedAt < this.timing.renewDeadlineMs;
  }

  stop(release: boolean): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping.abort();
      await this.loop;
      if (release && this.holdsAtStop) await this.release();
    })();
    return this.stopped;
  }

  private async campaign(): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      if (await this.acquire(stop)) await this.lead(stop);
    }
  }

  private async acquire(stop: AbortSignal): Promise<boolean> {
    const began = performance.now();
    this.log.debug('campaigning for leadership');
    for (let first = true; ; first = false) {
      if (!first) await sleep(this.timing.retryMs * (1 + Math.random() * JITTER), stop);
      if (stop.aborted) return false;
      if ((await this.attempt(stop, this.timing.renewDeadlineMs)) === 'acquired') {
        this.log.info(
          {
            waitedMs: Math.round(performance.now() - began),
            transitions: this.lease?.record.leaseTransitions,
          },
          'became leader',
        );
        return true;
      }
    }
  }

  private async lead(stop: AbortSignal): Promise<void> {
    const work = new AbortController();
    this.leading = true;
    const running = this.startWork(work.signal);
    const left = () => this.renewedAt + this.timing.renewDeadlineMs - performance.now();
    let lost: string | undefined;
    while (lost === undefined) {
      await sleep(Math.min(this.timing.retryMs, Math.max(0, left())), stop);
      if (stop.aborted) break;
      if (left() <= 0) {
        lost = `no successful renewal for ${this.timing.renewDeadlineMs} ms`;
      } else if ((await this.attempt(stop, left())) === 'held') {
        lost = `the lease is held by ${this.observed?.holderIdentity ?? '?'}`;
      }
    }
    this.holdsAtStop = lost === undefined && left() > 0;
    this.leading = false;
    work.abort();
    if (lost === undefined) this.log.info('stopped leading: stopping');
    else this.log.warn({ reason: lost }, 'lost leadership');
    try {
      this.options.onStoppedLeading?.();
    } catch (e: unknown) {
      this.log.error({ err: errorMessage(e) }, 'onStoppedLeading threw');
    }
    await running;
  }

  private startWork(signal: AbortSignal): Promise<void> {
    const settled = (e?: unknown) => {
      if (e !== undefined) this.log.error({ err: errorMessage(e) }, 'leader work failed');
      else if (!signal.aborted) this.log.debug('leader work returned while still leading');
    };
    try {
      return Promise.resolve(this.options.onStartedLeading(signal)).then(() => {
        settled();
      }, settled);
    } catch (e: unknown) {
      settled(e);
      return Promise.resolve();
    }
  }

  /** One try with its own deadline; failures are logged and answered as `failed`, never thrown. */
  private async attempt(stop: AbortSignal, timeoutMs: number): Promise<Outcome> {
    const signal = AbortSignal.any([stop, AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs)))]);
    const began = performance.now();
    try {
      const outcome = await this.tryAcquireOrRenew(signal);
      if (outcome === 'acquired') this.renewedAt = began;
      return outcome;
    } catch (e: unknown) {
      if (stop.aborted) return 'failed';
      // A conflict is a lost race, the expected outcome of contention; anything else is trouble.
      if (hasStatus(e, 409)) this.log.debug({ err: errorMessage(e) }, 'lease write conflicted');
      else this.log.warn({ err: errorMessage(e), leading: this.leading }, 'lease request failed');
      return 'failed';
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<'acquired' | 'held'> {
    const now = new Date();
    const identity = this.options.identity;
    // While leading, write over the version last written without reading it first; a conflict
    // means someone else wrote the lease, so read it and judge it like any candidate would.
    if (this.leading && this.lease?.record.holderIdentity === identity) {
      try {
        this.remember(
          await this.store.replace(this.lease, this.renewed(this.lease.record, now), signal),
        );
        return 'acquired';
      } catch (e: unknown) {
        if (!hasStatus(e, 409)) throw e;
      }
    }
    const current = await this.store.get(signal);
    if (current === undefined) {
      this.remember(await this.store.create(this.taken(now, 0), signal));
      return 'acquired';
    }
    this.observe(current.record);
    const holder = current.record.holderIdentity ?? '';
    if (holder !== '' && holder !== identity && !this.expired(current.record)) return 'held';
    const next =
      holder === identity
        ? this.renewed(current.record, now)
        : this.taken(now, (current.record.leaseTransitions ?? 0) + 1);
    this.remember(await this.store.replace(current, next, signal));
    return 'acquired';
  }

  /** Restarts the expiry clock whenever the record changes, as client-go's observedTime. */
  private observe(record: LeaseRecord): void {
    if (this.observed === undefined || !sameRecord(this.observed, record)) {
      this.observed = record;
      this.observedAt = performance.now();
    }
  }

  private remember(lease: Lease): void {
    this.lease = lease;
    this.observe(lease.record);
  }

  /** The holder's own duration decides, as it promised to renew within it. */
  private expired(record: LeaseRecord): boolean {
    const seconds = record.leaseDurationSeconds ?? this.timing.leaseSeconds;
    return performance.now() >= this.observedAt + seconds * 1_000;
  }

  private renewed(record: LeaseRecord, now: Date): LeaseRecord {
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.timing.leaseSeconds,
      acquireTime: record.acquireTime ?? microTime(now),
      renewTime: microTime(now),
      leaseTransitions: record.leaseTransitions ?? 0,
    };
  }

  private taken(now: Date, transitions: number): LeaseRecord {
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.timing.leaseSeconds,
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: transitions,
    };
  }

  /**
   * Clears the holder (client-go's ReleaseOnCancel). The work has already settled, so the
   * standby that takes over next cannot overlap with it. A failure only costs the standby one
   * lease duration, so it is logged, not thrown. A 409 means the aborted last renewal may have
   * landed after all: read again and release only if the lease is still ours.
   */
  private async release(): Promise<void> {
    const signal = AbortSignal.timeout(Math.ceil(this.timing.renewDeadlineMs));
    let lease = this.lease;
    for (let attempt = 0; attempt < 2 && lease !== undefined; attempt++) {
      if (lease.record.holderIdentity !== this.options.identity) return;
      const now = microTime(new Date());
      const record: LeaseRecord = {
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: lease.record.leaseTransitions ?? 0,
      };
      try {
        this.lease = await this.store.replace(lease, record, signal);
        this.log.info('released the lease');
        return;
      } catch (e: unknown) {
        if (!hasStatus(e, 409)) {
          this.log.warn({ err: errorMessage(e) }, 'could not release the lease; it will expire');
          return;
        }
        lease = await this.store.get(signal).catch(() => undefined);
      }
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  // node:timers/promises refuses fractional delays.
  return delay(Math.max(0, Math.ceil(ms)), undefined, { signal }).catch(() => undefined);
}
