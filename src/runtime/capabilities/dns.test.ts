import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logger.js';
import { createHostCapabilities } from './host-capabilities.js';
import type { CapabilityGrant } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function grantOf(hostCapabilities: string[]): CapabilityGrant {
  return { policyId: 'dns-test', hostCapabilities, contextAwareResources: [] };
}

describe('net/v1/dns_lookup_host through the system resolver', () => {
  it('resolves localhost through the system resolver', async () => {
    const capabilities = createHostCapabilities({ logger: silentLogger() });
    const result = await capabilities.call(
      grantOf(['net/*']),
      {
        binding: 'kubewarden',
        namespace: 'net',
        operation: 'v1/dns_lookup_host',
        payload: encoder.encode('"localhost"'),
      },
      Date.now() + 5_000,
    );
    if (!result.ok) throw new Error(result.error);
    const { ips } = JSON.parse(decoder.decode(result.payload)) as { ips: string[] };
    expect(ips.length).toBeGreaterThan(0);
    expect(ips.some((ip) => ip === '127.0.0.1' || ip === '::1')).toBe(true);
  });

  it('reports an unknown host as a callback failure', async () => {
    const capabilities = createHostCapabilities({ logger: silentLogger() });
    const result = await capabilities.call(
      grantOf(['*']),
      {
        binding: 'kubewarden',
        namespace: 'net',
        operation: 'v1/dns_lookup_host',
        payload: encoder.encode('"no-such-host.invalid"'),
      },
      Date.now() + 10_000,
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(
      /^Callback evaluation failure: .*no-such-host\.invalid/,
    );
  });
});
