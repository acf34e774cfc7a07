import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../shared/admission.js';
import { cacheKey, identityOf, ObjectCache } from './informer-cache.js';

const cm = (name: string, rv: string, uid = `uid-${name}`, namespace = 'ns'): JsonObject => ({
  kind: 'ConfigMap',
  metadata: { name, namespace, uid, resourceVersion: rv },
});

const summary = (changes: ReturnType<ObjectCache['replace']>) =>
  changes.map((c) => `${c.type} ${identityOf(c.object).name ?? ''}`);

describe('ObjectCache', () => {
  it('keys namespaced objects as namespace/name and cluster-scoped ones by name', () => {
    expect(cacheKey('a', 'ns')).toBe('ns/a');
    expect(cacheKey('a')).toBe('a');
    const cache = new ObjectCache();
    cache.upsert({ metadata: { name: 'node-1', resourceVersion: '1' } });
    expect(cache.get('node-1')).toBeDefined();
  });

  it('adds, updates, ignores a repeated version and deletes', () => {
    const cache = new ObjectCache();
    expect(summary(cache.upsert(cm('a', '1')))).toEqual(['add a']);
    expect(cache.upsert(cm('a', '1'))).toEqual([]);
    const [update] = cache.upsert(cm('a', '2'));
    expect(update).toMatchObject({ type: 'update', old: cm('a', '1'), object: cm('a', '2') });
    expect(summary(cache.remove(cm('a', '3')))).toEqual(['delete a']);
    expect(cache.remove(cm('a', '3'))).toEqual([]);
    expect(cache.size).toBe(0);
  });

  it('reports a re-created object (new uid) as a delete and an add', () => {
    const cache = new ObjectCache();
    cache.upsert(cm('a', '1', 'first'));
    const changes = cache.upsert(cm('a', '5', 'second'));
    expect(changes).toEqual([
      { type: 'delete', object: cm('a', '1', 'first') },
      { type: 'add', object: cm('a', '5', 'second') },
    ]);
  });

  it('answers a relist with exactly the difference', () => {
    const cache = new ObjectCache();
    cache.replace([cm('kept', '1'), cm('changed', '2'), cm('gone', '3')]);
    const changes = cache.replace([cm('kept', '1'), cm('changed', '7'), cm('new', '8')]);
    expect(summary(changes)).toEqual(['update changed', 'add new', 'delete gone']);
    const deleted = changes.find((c) => c.type === 'delete');
    expect(deleted?.object).toEqual(cm('gone', '3'));
    expect(
      cache
        .values()
        .map((o) => identityOf(o).name)
        .sort(),
    ).toEqual(['changed', 'kept', 'new']);
  });

  it('skips objects without a name', () => {
    const cache = new ObjectCache();
    expect(cache.replace([{ metadata: {} }, { kind: 'x' }])).toEqual([]);
    expect(cache.size).toBe(0);
  });
});
