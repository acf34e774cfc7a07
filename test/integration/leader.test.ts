import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/shared/logger.js';
import {
  startLeaderElection,
  type LeaderElection,
  type LeaderElectionOptions,
} from '../../src/operator/leader.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube.js';

const NAMESPACE = 'palisade-system';
const SHORT = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 } as const;
/** Generous on purpose: tests assert that a takeover happened, never how fast. */
const TAKEOVER_BOUND_MS = 3 * SHORT.leaseDurationMs;

let cluster: KubeApiServer;
let kubeConfig: KubeConfig;
const running: LeaderElection[] = [];

beforeAll(async () => {
  cluster = await startKubeApiServer();
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  await cluster.request('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NAMESPACE },
  });
}, 120_000);

afterAll(async () => {
  await cluster.stop();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

interface Candidate {
  readonly identity: string;
  readonly election: LeaderElection;
  readonly events: string[];
}

function candidate(
  name: string,
  identity: string,
  timing: Partial<LeaderElectionOptions> = SHORT,
): Candidate {
  const events: string[] = [];
  const election = startLeaderElection({
    kubeConfig,
    namespace: NAMESPACE,
    name,
    identity,
    logger: silentLogger(),
    ...timing,
    onStartedLeading: () => {
      events.push('started');
    },
    onStoppedLeading: () => {
      events.push('stopped');
    },
  });
  running.push(election);
  return { identity, election, events };
}

async function leaseSpec(name: string): Promise<Record<string, unknown>> {
  const lease = (await cluster.request(
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${name}`,
  )) as { spec: Record<string, unknown> };
  return lease.spec;
}

/** Resolves to the milliseconds it took, for the log; rejects past `timeoutMs`. */
async function timeUntil(condition: () => boolean, timeoutMs: number): Promise<number> {
  const began = performance.now();
  while (!condition()) {
    if (performance.now() - began > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Math.round(performance.now() - began);
}

const leaders = (cs: readonly Candidate[]) => cs.filter((c) => c.election.isLeader());

describe('leader election against a real API server', () => {
  it('lets exactly one of two candidates lead and records it in the Lease', async () => {
    const cs = [candidate('one-leader', 'a'), candidate('one-leader', 'b')];
    await timeUntil(() => leaders(cs).length > 0, TAKEOVER_BOUND_MS);
    for (let i = 0; i < 40; i++) {
      expect(leaders(cs)).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 50));
    }
    const spec = await leaseSpec('one-leader');
    expect(spec).toMatchObject({
      holderIdentity: leaders(cs)[0]?.identity,
      leaseDurationSeconds: 3,
      leaseTransitions: 0,
    });
    expect(spec['renewTime']).toMatch(/\.\d{6}Z$/);
  });

  it('hands the lease to the standby after the leader crashed (no release)', async () => {
    const a = candidate('crash', 'a');
    await timeUntil(() => a.election.isLeader(), TAKEOVER_BOUND_MS);
    const b = candidate('crash', 'b');
    await new Promise((r) => setTimeout(r, 2 * SHORT.retryPeriodMs));
    expect(b.election.isLeader()).toBe(false);
    await a.election.stop({ release: false });
    expect((await leaseSpec('crash'))['holderIdentity']).toBe('a');
    const ms = await timeUntil(() => b.election.isLeader(), TAKEOVER_BOUND_MS);
    console.info(`takeover after a crash: ${ms} ms (lease ${SHORT.leaseDurationMs} ms)`);
    expect(await leaseSpec('crash')).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('hands the lease over on a graceful stop without waiting for it to expire', async () => {
    // A lease far longer than the bound: only the release can explain a takeover within it.
    const long = { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 500 };
    const a = candidate('graceful', 'a', long);
    await timeUntil(() => a.election.isLeader(), TAKEOVER_BOUND_MS);
    const b = candidate('graceful', 'b', long);
    await new Promise((r) => setTimeout(r, 2 * long.retryPeriodMs));
    expect(b.election.isLeader()).toBe(false);
    await a.election.stop();
    expect(a.events).toEqual(['started', 'stopped']);
    const ms = await timeUntil(() => b.election.isLeader(), TAKEOVER_BOUND_MS);
    console.info(`takeover after a graceful stop: ${ms} ms (retry ${long.retryPeriodMs} ms)`);
    expect(await leaseSpec('graceful')).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('never has two leaders while the API server restarts, and has one afterwards', async () => {
    const cs = [candidate('restart', 'a'), candidate('restart', 'b')];
    await timeUntil(() => leaders(cs).length > 0, TAKEOVER_BOUND_MS);
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, leaders(cs).length);
    }, 10);
    try {
      await cluster.restartApiServer();
      await timeUntil(() => leaders(cs).length === 1, 2 * TAKEOVER_BOUND_MS);
    } finally {
      clearInterval(sampler);
    }
    expect(most).toBe(1);
    const spec = await leaseSpec('restart');
    expect(spec['holderIdentity']).toBe(leaders(cs)[0]?.identity);
  }, 120_000);
});
