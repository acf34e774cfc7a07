import type { Environment } from '@marcbachmann/cel-js';
import { registerNamespace } from './namespace.js';
import { celEquals, fn, toArray } from './values.js';

function contains(list: unknown, sub: unknown): boolean {
  const items = toArray(list);
  return toArray(sub).every((x) => items.some((y) => celEquals(x, y)));
}

function intersects(a: unknown, b: unknown): boolean {
  const items = toArray(a);
  return toArray(b).some((x) => items.some((y) => celEquals(x, y)));
}

/**
 * cel-go ext.Sets. The lists are typed `list` (dyn elements) rather than `list<T>` so mixed
 * numeric lists such as `sets.contains([1], [1.0])` compare by CEL equality, as cel-go allows.
 */
export function registerSetsLibrary(env: Environment): void {
  const ns = registerNamespace(env, 'sets');
  fn(env, `${ns}.contains(list, list): bool`, (_: unknown, a: unknown, b: unknown) =>
    contains(a, b),
  );
  fn(
    env,
    `${ns}.equivalent(list, list): bool`,
    (_: unknown, a: unknown, b: unknown) => contains(a, b) && contains(b, a),
  );
  fn(env, `${ns}.intersects(list, list): bool`, (_: unknown, a: unknown, b: unknown) =>
    intersects(a, b),
  );
}
