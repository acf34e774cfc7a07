import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logger.js';
import { createHostCapabilities } from './host-capabilities.js';
import type { CallbackHandler, CapabilityGrant } from './types.js';

const encoder = new TextEncoder();
const everything: CapabilityGrant = {
  policyId: 'test-policy',
  hostCapabilities: ['*'],
  contextAwareResources: [],
};

describe('deadline edge cases', () => {
  it('waits for the answer when the deadline is beyond what a timer can hold', async () => {
    const slow: CallbackHandler = {
      handle: () =>
        new Promise((resolve) => {
          setTimeout(() => {
            resolve(encoder.encode('{"ips":[]}'));
          }, 20);
        }),
    };
    const capabilities = createHostCapabilities({ logger: silentLogger(), handler: slow });
    const result = await capabilities.call(
      everything,
      {
        binding: 'kubewarden',
        namespace: 'net',
        operation: 'v1/dns_lookup_host',
        payload: encoder.encode('"x"'),
      },
      Number.POSITIVE_INFINITY,
    );
    expect(result).toEqual({ ok: true, payload: encoder.encode('{"ips":[]}') });
  });

  it('answers at once when the deadline has already passed', async () => {
    const hung: CallbackHandler = { handle: () => new Promise<never>(() => undefined) };
    const capabilities = createHostCapabilities({ logger: silentLogger(), handler: hung });
    const result = await capabilities.call(
      everything,
      {
        binding: 'kubewarden',
        namespace: 'net',
        operation: 'v1/dns_lookup_host',
        payload: encoder.encode('"x"'),
      },
      Date.now() - 10,
    );
    expect(result).toEqual({
      ok: false,
      error: "host capability 'net/v1/dns_lookup_host' timed out: no answer within 0 ms",
    });
  });
});
