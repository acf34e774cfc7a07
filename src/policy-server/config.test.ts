import { describe, expect, it } from 'vitest';
import { isPalisadeError } from '../shared/errors.js';
import { createPolicyServerConfig, DEFAULT_BODY_LIMIT_BYTES } from './config.js';

describe('createPolicyServerConfig', () => {
  it('defaults to a local plain-HTTP server with a 3 MiB + envelope body limit', () => {
    const config = createPolicyServerConfig();
    expect(config).toEqual({
      addr: '127.0.0.1',
      port: 3000,
      bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
      shutdownTimeoutMs: 10_000,
      keepAliveTimeoutMs: 95_000,
      requestTimeoutMs: 30_000,
    });
    expect(DEFAULT_BODY_LIMIT_BYTES).toBeGreaterThan(3 * 1024 * 1024);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('keeps TLS files and freezes them too', () => {
    const config = createPolicyServerConfig({ tls: { certFile: 'c.pem', keyFile: 'k.pem' } });
    expect(config.tls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem' });
    expect(Object.isFrozen(config.tls)).toBe(true);
  });

  it('names every invalid field in one config_invalid error', () => {
    let error: unknown;
    try {
      createPolicyServerConfig({
        port: 70_000,
        bodyLimitBytes: 0,
        addr: ' ',
        tls: { certFile: '', keyFile: 'k' },
      });
    } catch (e: unknown) {
      error = e;
    }
    expect(isPalisadeError(error, 'config_invalid')).toBe(true);
    const paths = isPalisadeError(error) ? error.fields.map((f) => f.path) : [];
    expect(paths).toEqual(['addr', 'port', 'bodyLimitBytes', 'tls.certFile']);
  });
});
