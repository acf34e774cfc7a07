import { afterEach, describe, expect, it } from 'vitest';
import { isPalisadeError } from '../shared/errors.js';
import { silentLogger } from '../shared/logger.js';
import { KubeApiError } from '../shared/kube-http.js';
import { microTime, type Lease, type LeaseRecord, type LeaseStore } from './leader-lease.js';
import { electLeader, type ElectorOptions, type LeaderElection } from './leader.js';

/** One lease in memory with the API server's rules: 404 when absent, 409 on a stale version. */
class MemoryLeaseStore implements LeaseStore {
  readonly description = 'test/lease';
  lease: Lease | undefined;
  /** While set, every call fails as an unreachable API server would. */
  down = false;
  private version = 0;

  get(): Promise<Lease | undefined> {
    return this.answer(() => this.lease);
  }

  create(record: LeaseRecord): Promise<Lease> {
    return this.answer(() => {
      if (this.lease !== undefined) throw new KubeApiError('exists', 409, 'AlreadyExists');
      return this.write(record);
    });
  }

  replace(previous: Lease, record: LeaseRecord): Promise<Lease> {
    return this.answer(() => {
      if (this.lease === undefined) throw new KubeApiError('not found', 404, 'NotFound');
      if (previous.resourceVersion !== this.lease.resourceVersion) {
        throw new KubeApiError('conflict', 409, 'Conflict');
      }
      return this.write(record);
    });
  }

  /** What another writer would do: a new version, with the given record. */
  write(record: LeaseRecord): Lease {
    this.version++;
    this.lease = { record, resourceVersion: String(this.version), object: {} };
    return this.lease;
  }

  holder(): string | undefined {
    return this.lease?.record.holderIdentity;
  }

  private async answer<T>(fn: () => T): Promise<T> {
    await new Promise((r) => setTimeout(r, 1));
    if (this.down) throw new KubeApiError('connect ECONNREFUSED');
    return fn();
  }
}

const FAST = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 50 } as const;

interface Candidate {
  readonly election: LeaderElection;
  readonly events: string[];
  readonly signals: AbortSignal[];
}

const running: LeaderElection[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

function candidate(
  store: LeaseStore,
  identity: string,
  overrides: Partial<ElectorOptions> = {},
): Candidate {
  const events: string[] = [];
  const signals: AbortSignal[] = [];
  const election = electLeader(store, {
    identity,
    logger: silentLogger(),
    ...FAST,
    onStartedLeading(signal) {
      events.push('started');
      signals.push(signal);
    },
    onStoppedLeading() {
      events.push('stopped');
    },
    ...overrides,
  });
  running.push(election);
  return { election, events, signals };
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('electLeader', () => {
  it('creates the lease and leads when there is none', async () => {
    const store = new MemoryLeaseStore();
    const a = candidate(store, 'a');
    await waitFor(() => a.election.isLeader());
    expect(a.events).toEqual(['started']);
    const record = store.lease?.record;
    expect(record).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 1,
      leaseTransitions: 0,
    });
    expect(record?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('lets exactly one of two candidates lead, and keeps renewing', async () => {
    const store = new MemoryLeaseStore();
    const a = candidate(store, 'a');
    const b = candidate(store, 'b');
    await waitFor(() => a.election.isLeader() || b.election.isLeader());
    const firstRenewal = store.lease?.record.renewTime;
    for (let i = 0; i < 30; i++) {
      expect([a, b].filter((c) => c.election.isLeader())).toHaveLength(1);
      await pause(20);
    }
    const leader = a.election.isLeader() ? 'a' : 'b';
    expect(store.holder()).toBe(leader);
    expect(store.lease?.record.renewTime).not.toBe(firstRenewal);
    expect(store.lease?.record.leaseTransitions).toBe(0);
  });

  it('hands over at once on a graceful stop, after the work settled', async () => {
    const store = new MemoryLeaseStore();
    // A lease far longer than the test: only a release lets the standby in.
    const slow = { leaseDurationMs: 60_000, renewDeadlineMs: 30_000, retryPeriodMs: 50 };
    let holderWhenWorkSettled: string | undefined;
    const a = candidate(store, 'a', {
      ...slow,
      onStartedLeading: (signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () =>
            setTimeout(() => {
              holderWhenWorkSettled = store.holder();
              resolve();
            }, 50),
          );
        }),
    });
    await waitFor(() => a.election.isLeader());
    const b = candidate(store, 'b', slow);
    await pause(200);
    expect(b.election.isLeader()).toBe(false);
    await a.election.stop();
    expect(holderWhenWorkSettled).toBe('a');
    expect(a.election.isLeader()).toBe(false);
    await waitFor(() => b.election.isLeader());
    expect(store.lease?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('takes over a crashed leader only after the lease stayed unchanged for its duration', async () => {
    const store = new MemoryLeaseStore();
    const a = candidate(store, 'a', { leaseDurationMs: 2_000, renewDeadlineMs: 1_000 });
    await waitFor(() => a.election.isLeader());
    const b = candidate(store, 'b', { leaseDurationMs: 2_000, renewDeadlineMs: 1_000 });
    await a.election.stop({ release: false });
    expect(a.events).toEqual(['started', 'stopped']);
    expect(store.holder()).toBe('a');
    await pause(300);
    expect(b.election.isLeader()).toBe(false);
    await waitFor(() => b.election.isLeader());
    expect(store.lease?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('judges expiry on its own clock, not by the renewTime written in the lease', async () => {
    const store = new MemoryLeaseStore();
    const longAgo = microTime(new Date(Date.now() - 3_600_000));
    store.write({
      holderIdentity: 'ghost',
      leaseDurationSeconds: 1,
      acquireTime: longAgo,
      renewTime: longAgo,
      leaseTransitions: 4,
    });
    const b = candidate(store, 'b');
    await pause(300);
    expect(b.election.isLeader()).toBe(false);
    await waitFor(() => b.election.isLeader());
    expect(store.lease?.record.leaseTransitions).toBe(5);
  });

  it('gives up when renewals fail for the renew deadline, then leads again when they work', async () => {
    const store = new MemoryLeaseStore();
    const a = candidate(store, 'a');
    await waitFor(() => a.election.isLeader());
    store.down = true;
    await waitFor(() => a.events.includes('stopped'));
    expect(a.election.isLeader()).toBe(false);
    expect(a.signals[0]?.aborted).toBe(true);
    store.down = false;
    // Still its own name in the lease: it resumes at once, as client-go does.
    await waitFor(() => a.election.isLeader());
    expect(a.events).toEqual(['started', 'stopped', 'started']);
    expect(store.lease?.record.leaseTransitions).toBe(0);
  });

  it('steps down as soon as it finds another holder in the lease', async () => {
    const store = new MemoryLeaseStore();
    const slow = { leaseDurationMs: 60_000, renewDeadlineMs: 30_000, retryPeriodMs: 50 };
    const a = candidate(store, 'a', slow);
    await waitFor(() => a.election.isLeader());
    const now = microTime(new Date());
    store.write({
      holderIdentity: 'intruder',
      leaseDurationSeconds: 60,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 1,
    });
    await waitFor(() => a.events.includes('stopped'));
    expect(a.election.isLeader()).toBe(false);
    expect(store.holder()).toBe('intruder');
  });

  it('re-reads after a conflict on its own lease and keeps leading', async () => {
    const store = new MemoryLeaseStore();
    const a = candidate(store, 'a');
    await waitFor(() => a.election.isLeader());
    // Another writer bumps the version without taking the lease (a label edit, say).
    const current = store.lease;
    if (current === undefined) throw new Error('no lease');
    store.write(current.record);
    const bumped = store.lease?.resourceVersion;
    await waitFor(() => store.lease?.resourceVersion !== bumped);
    expect(a.events).toEqual(['started']);
    expect(a.election.isLeader()).toBe(true);
  });

  it('does not release a lease it does not hold', async () => {
    const store = new MemoryLeaseStore();
    const a = candidate(store, 'a');
    await waitFor(() => a.election.isLeader());
    const b = candidate(store, 'b');
    await pause(100);
    await b.election.stop();
    expect(store.holder()).toBe('a');
    expect(b.events).toEqual([]);
  });

  it('keeps leading when the work throws, and logs it', async () => {
    const store = new MemoryLeaseStore();
    const a = candidate(store, 'a', {
      onStartedLeading() {
        throw new Error('boom');
      },
    });
    await waitFor(() => a.election.isLeader());
    await pause(200);
    expect(a.election.isLeader()).toBe(true);
  });

  it.each([
    [{ identity: '' }, 'identity must not be empty'],
    [{ leaseDurationMs: 500, renewDeadlineMs: 400, retryPeriodMs: 100 }, 'at least 1000'],
    [{ leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }, 'greater than renewDeadlineMs'],
    [{ renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }, 'greater than retryPeriodMs'],
    [{ retryPeriodMs: Number.NaN }, 'positive numbers'],
  ])('refuses inconsistent timing %o', (overrides, message) => {
    const start = () =>
      electLeader(new MemoryLeaseStore(), {
        identity: 'a',
        logger: silentLogger(),
        onStartedLeading: () => undefined,
        ...overrides,
      });
    expect(start).toThrow(message);
    try {
      start();
    } catch (e: unknown) {
      expect(isPalisadeError(e, 'config_invalid')).toBe(true);
    }
  });
});
