import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { PolicyLoadState } from '../engine/types.js';
import { silentLogger } from '../shared/logger.js';
import { createApp } from './app.js';
import {
  policiesStatus,
  type PolicySourceStatus,
  type PolicyStatusProvider,
} from './policies-status.js';

function provider(
  states: Record<string, PolicyLoadState & Record<string, unknown>>,
  source: PolicySourceStatus,
): PolicyStatusProvider {
  return { loadStates: () => new Map(Object.entries(states)), source: () => source };
}

const STATES = {
  good: { state: 'active', generation: 'aaaa' },
  changed: {
    state: 'failed',
    generation: 'bbbb',
    error: 'changed.settings.validations[0].expression: Syntax error',
    servingGeneration: 'cccc',
  },
  broken: { state: 'failed', generation: 'dddd', error: 'no module' },
} as const;

describe('policiesStatus', () => {
  it('lists every policy state and the source', () => {
    const source = { kind: 'configMap', name: 'ns/cm', resourceVersion: '42' } as const;
    expect(policiesStatus(provider(STATES, source))).toEqual({ policies: STATES, source });
  });

  it('keeps only the documented fields of a state', () => {
    const body = policiesStatus(
      provider({ p: { state: 'active', generation: 'g', internal: 1 } }, { kind: 'file' }),
    );
    expect(body.policies['p']).toEqual({ state: 'active', generation: 'g' });
  });
});

describe('GET /policies', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  async function serve(status?: PolicyStatusProvider): Promise<string> {
    const app = createApp({
      registry: new Registry(),
      logger: silentLogger(),
      draining: () => false,
      ...(status ? { status } : {}),
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('answers the load states and the source as JSON, read at each request', async () => {
    let source: PolicySourceStatus = { kind: 'configMap', name: 'ns/cm', resourceVersion: '1' };
    const base = await serve({
      loadStates: () => new Map(Object.entries(STATES)),
      source: () => source,
    });
    const first = await fetch(`${base}/policies`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await first.json()).toEqual({
      policies: STATES,
      source: { kind: 'configMap', name: 'ns/cm', resourceVersion: '1' },
    });
    source = { ...source, error: 'resourceVersion 2 was not applied: bad YAML' };
    const second = (await (await fetch(`${base}/policies`)).json()) as {
      source: PolicySourceStatus;
    };
    expect(second.source.error).toBe('resourceVersion 2 was not applied: bad YAML');
  });

  it('answers 405 with Allow to other methods', async () => {
    const base = await serve(provider({}, { kind: 'file', name: 'policies.yml' }));
    const res = await fetch(`${base}/policies`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 404 when the server was given no status', async () => {
    const base = await serve();
    const res = await fetch(`${base}/policies`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      message: 'this policy server does not report policy status',
      status: 404,
    });
  });
});
