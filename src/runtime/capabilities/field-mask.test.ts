import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../shared/admission.js';
import { applyFieldMasks, maskKubernetesObject } from './field-mask.js';

describe('field masks (Kubewarden field_mask.rs cases)', () => {
  it.each<[string, JsonValue, JsonValue, string[]]>([
    ['objects', { a: { b: 1, c: 2 }, d: 3 }, { a: { b: 1 }, d: 3 }, ['a.b', 'd']],
    [
      'nested objects',
      { user: { name: 'Alice', age: 30, metadata: { id: 1, active: true } }, other: 'data' },
      { user: { name: 'Alice', metadata: { id: 1 } } },
      ['user.name', 'user.metadata.id'],
    ],
    [
      'arrays',
      {
        users: [
          { name: 'Alice', age: 30 },
          { name: 'Bob', age: 25 },
        ],
        metadata: { count: 2 },
      },
      { users: [{ name: 'Alice' }, { name: 'Bob' }] },
      ['users.name'],
    ],
    [
      'arrays with nested objects',
      {
        users: [
          { name: 'Alice', age: 30, metadata: { id: 1 } },
          { name: 'Bob', age: 25, metadata: { id: 2 } },
        ],
        metadata: { count: 2 },
      },
      {
        users: [
          { name: 'Alice', metadata: { id: 1 } },
          { name: 'Bob', metadata: { id: 2 } },
        ],
      },
      ['users.name', 'users.metadata'],
    ],
    [
      'keep all below',
      { user: { name: 'Alice', age: 30 }, other: 'data' },
      { user: { name: 'Alice', age: 30 } },
      ['user'],
    ],
    ['no masks keeps everything', { a: 1 }, { a: 1 }, []],
  ])('%s', (_name, input, expected, masks) => {
    expect(applyFieldMasks(input, masks)).toEqual(expected);
  });

  it('never prunes apiVersion, kind or metadata of a Kubernetes object, and does not mutate it', () => {
    const object = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { a: 'b' } },
      spec: { nodeName: 'n', containers: [{ name: 'c', image: 'i' }] },
      status: { phase: 'Running' },
    };
    const copy = structuredClone(object);
    expect(maskKubernetesObject(object, ['spec.containers.image', 'metadata.name'])).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { a: 'b' } },
      spec: { containers: [{ image: 'i' }] },
    });
    expect(object).toEqual(copy);
  });
});
