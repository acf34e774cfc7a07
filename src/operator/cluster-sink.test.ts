import { describe, expect, it } from 'vitest';
import { covers } from './cluster-sink.js';
import { parseReport } from './policy-state-reader.js';

/**
 * The pure parts of the cluster sink: reading `GET /policies` and deciding whether a report is
 * recent enough. The sink itself, against a real API server and a real policy server, is
 * tested in test/integration/operator-cluster-sink.test.ts.
 */

describe('GET /policies as the operator reads it', () => {
  it('keeps well-formed states and the ConfigMap version they are about', () => {
    const report = parseReport({
      policies: {
        'clusterwide-a': { state: 'active', generation: 'g1' },
        'clusterwide-b': {
          state: 'failed',
          generation: 'g2',
          error: 'boom',
          servingGeneration: 'g0',
        },
        // A newer server's state this operator does not know: no report for it.
        'clusterwide-c': { state: 'warming', generation: 'g3' },
        'clusterwide-d': 'active',
      },
      source: { kind: 'configMap', name: 'ns/cm', resourceVersion: '42', error: 'bad yaml' },
    });
    expect(Object.fromEntries(report.states)).toEqual({
      'clusterwide-a': { state: 'active', generation: 'g1' },
      'clusterwide-b': {
        state: 'failed',
        generation: 'g2',
        error: 'boom',
        servingGeneration: 'g0',
      },
    });
    expect(report.resourceVersion).toBe('42');
    expect(report.sourceError).toBe('bad yaml');
  });

  it('refuses an answer without policies (then there is no report)', () => {
    expect(() => parseReport({ source: {} })).toThrow(/no "policies"/);
    expect(parseReport({ policies: {} }).resourceVersion).toBeUndefined();
  });
});

describe('whether a report covers a ConfigMap version', () => {
  const at = (resourceVersion?: string) => ({
    states: new Map(),
    ...(resourceVersion !== undefined ? { resourceVersion } : {}),
  });

  it('compares etcd revisions as numbers, whatever their length', () => {
    expect(covers(at('100'), '99')).toBe(true);
    expect(covers(at('100'), '100')).toBe(true);
    expect(covers(at('99'), '100')).toBe(false);
    expect(covers(at('18446744073709551616'), '18446744073709551615')).toBe(true);
  });

  it('falls back to equality for versions that are not numbers, and believes a silent server', () => {
    expect(covers(at('abc'), 'abc')).toBe(true);
    expect(covers(at('abd'), 'abc')).toBe(false);
    expect(covers(at(), '5')).toBe(true);
  });
});
