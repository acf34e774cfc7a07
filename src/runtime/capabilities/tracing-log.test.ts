import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { createHostCapabilities } from './host-capabilities.js';
import type { CapabilityGrant, HostCallResult } from './types.js';

const encoder = new TextEncoder();

function grantOf(hostCapabilities: string[]): CapabilityGrant {
  return { policyId: 'test-policy', hostCapabilities, contextAwareResources: [] };
}

const reachedHandler = () => ({
  handle: () => Promise.reject(new Error('tracing/log never reaches the handler')),
});

describe('tracing/log', () => {
  it('writes policy log lines at their level with the policy id, and survives garbage', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'trace', format: 'json', destination });
    const capabilities = createHostCapabilities({ logger, handler: reachedHandler() });
    const log = (payload: string): Promise<HostCallResult> =>
      capabilities.call(
        grantOf([]),
        {
          binding: 'kubewarden',
          namespace: 'tracing',
          operation: 'log',
          payload: encoder.encode(payload),
        },
        Date.now() + 1000,
      );
    expect((await log('{"level":"Warning","message":"careful","pod":"p1"}')).ok).toBe(true);
    expect((await log('{"level":"loud"}')).ok).toBe(true);
    expect((await log('not json')).ok).toBe(true);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records[0]).toMatchObject({
      level: 40,
      msg: 'careful',
      policy: 'test-policy',
      data: { pod: 'p1' },
    });
    expect(records[1]).toMatchObject({
      level: 50,
      msg: 'Cannot log event',
      error: 'unknown log level loud',
    });
    expect(records[2]).toMatchObject({ level: 50, msg: 'Cannot log event' });
  });
});
