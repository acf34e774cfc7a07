import { describe, expect, it } from 'vitest';
import { Bindings, createVariablesClass, defineVariable } from './bindings.js';

describe('bindings', () => {
  it('computes each variable on first read and at most once per evaluation', () => {
    const Variables = createVariablesClass();
    defineVariable(Variables, 'a', 0);
    defineVariable(Variables, 'b', 1);
    const calls: number[] = [];
    const vars = new Variables((i) => {
      calls.push(i);
      return BigInt(i + 10);
    }) as unknown as { a: bigint; b: bigint };
    expect(calls).toEqual([]);
    expect([vars.a, vars.a, vars.b, vars.a]).toEqual([10n, 10n, 11n, 10n]);
    expect(calls).toEqual([0, 1]);
    const fresh = new Variables(() => 1n) as unknown as { a: bigint };
    expect(fresh.a).toBe(1n);
  });

  it('converts each binding once, integers to CEL ints, and only when read', () => {
    const request = {
      uid: 'u',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      operation: 'CREATE' as const,
      userInfo: {},
      object: { spec: { replicas: 3, ratio: 0.5 } },
    };
    const b = new Bindings(request, null, undefined, {});
    expect(b.object).toEqual({ spec: { replicas: 3n, ratio: 0.5 } });
    expect(b.object).toBe(b.object);
    expect(b.oldObject).toBeNull();
    expect(b.namespaceObject).toBeNull();
    expect((b.request as { uid: string }).uid).toBe('u');
  });
});
