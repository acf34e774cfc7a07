import { describe, expect, it } from 'vitest';
import { fromCel, toCel, toCelLazy } from './convert.js';

const doc = {
  spec: { replicas: 3, ratio: 0.5, containers: [{ name: 'a', ports: [80, 443] }] },
  on: true,
};

describe('JSON to CEL values', () => {
  it('turns integers into ints and keeps doubles', () => {
    expect(toCel(doc)).toEqual({
      spec: { replicas: 3n, ratio: 0.5, containers: [{ name: 'a', ports: [80n, 443n] }] },
      on: true,
    });
    expect(fromCel(toCel(doc))).toEqual(doc);
  });

  it('converts lazily to the same values, remembering each view', () => {
    const view = toCelLazy(doc) as {
      spec: { replicas: bigint; containers: { ports: bigint[] }[] };
    };
    expect(view).toEqual(toCel(doc));
    expect(view.spec).toBe(view.spec);
    expect(Array.isArray(view.spec.containers)).toBe(true);
    expect([...(view.spec.containers[0]?.ports ?? [])]).toEqual([80n, 443n]);
    expect(Object.keys(view.spec)).toEqual(['replicas', 'ratio', 'containers']);
    expect(Object.hasOwn(view.spec, 'missing')).toBe(false);
  });

  it('never writes through to the request', () => {
    const view = toCelLazy(doc) as { spec: Record<string, unknown> };
    expect(Reflect.set(view.spec, 'replicas', 9n)).toBe(false);
    expect(Reflect.deleteProperty(view.spec, 'replicas')).toBe(false);
    expect(doc.spec.replicas).toBe(3);
  });

  it('maps JSON null and absence to CEL null', () => {
    expect(toCelLazy(null)).toBeNull();
    expect(toCelLazy(undefined)).toBeNull();
    expect(toCelLazy(7)).toBe(7n);
  });
});
