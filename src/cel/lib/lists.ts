import type { Environment } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import {
  accepts,
  identifierName,
  registerMacro,
  type CelTypeDecl,
  type MacroAst,
  type MacroIterContext,
} from './macro.js';
import { registerMarkerType, registerNamespace } from './namespace.js';
import {
  celCompare,
  celEquals,
  celError,
  fn,
  isListValue,
  toArray,
  toIndex,
  typeName,
} from './values.js';

/*
 * Element types are declared with a type parameter (`list<T>`) rather than one overload per
 * comparable type as Kubernetes does: cel-js resolves a `list<dyn>` receiver (any list read from
 * a JSON object) statically to the first matching overload, so per-type overloads would give
 * `object.items.min()` the wrong static type. Non-comparable elements fail at runtime instead.
 */

function addValues(a: unknown, b: unknown): unknown {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    const r = a + b;
    if (r > 9223372036854775807n || r < -9223372036854775808n) throw celError('integer overflow');
    return r;
  }
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a instanceof UnsignedInt && b instanceof UnsignedInt)
    return new UnsignedInt(a.valueOf() + b.valueOf());
  if (a instanceof Duration && b instanceof Duration) return a.addDuration(b);
  throw celError(`no such overload: ${typeName(a)} + ${typeName(b)}`);
}

function sum(list: unknown): unknown {
  const items = toArray(list);
  if (items.length === 0) return 0n;
  return items.reduce((acc, v) => addValues(acc, v));
}

function extreme(name: string, preferred: number) {
  return (list: unknown): unknown => {
    const items = toArray(list);
    if (items.length === 0) throw celError(`${name} called on empty list`);
    let best = items[0];
    for (const v of items.slice(1)) if (celCompare(best, v) === preferred) best = v;
    return best;
  };
}

function isSorted(list: unknown): boolean {
  const items = toArray(list);
  for (let i = 1; i < items.length; i++) if (celCompare(items[i - 1], items[i]) > 0) return false;
  return true;
}

function indexOf(list: unknown, item: unknown): bigint {
  const items = toArray(list);
  return BigInt(items.findIndex((v) => celEquals(v, item)));
}

function lastIndexOf(list: unknown, item: unknown): bigint {
  const items = toArray(list);
  return BigInt(items.findLastIndex((v) => celEquals(v, item)));
}

function includes(target: unknown, item: unknown): boolean {
  if (isListValue(target)) return toArray(target).some((v) => celEquals(v, item));
  return celEquals(target, item);
}

function slice(list: unknown, start: bigint, end: bigint): unknown[] {
  const items = toArray(list);
  const where = `cannot slice(${start}, ${end})`;
  if (start < 0n || end < 0n) throw celError(`${where}, negative indexes not supported`);
  if (start > end) throw celError(`${where}, start index must be less than or equal to end index`);
  if (end > BigInt(items.length)) throw celError(`${where}, list is length ${items.length}`);
  return items.slice(Number(start), Number(end));
}

function flatten(list: unknown, depth: bigint): unknown[] {
  if (depth < 0n) throw celError('level must be non-negative');
  const out: unknown[] = [];
  for (const v of toArray(list)) {
    if (isListValue(v) && depth > 0n) out.push(...flatten(v, depth - 1n));
    else out.push(v);
  }
  return out;
}

function distinct(list: unknown): unknown[] {
  const out: unknown[] = [];
  for (const v of toArray(list)) if (!out.some((o) => celEquals(o, v))) out.push(v);
  return out;
}

function sameKind(a: unknown, b: unknown): boolean {
  return typeName(a) === typeName(b);
}

/** Stable sort by CEL ordering; cel-go refuses mixed element types rather than guess an order. */
function sortValues<T>(items: T[], key: (item: T) => unknown): T[] {
  const keys = items.map(key);
  const first = keys[0];
  if (keys.some((k) => !sameKind(k, first)))
    throw celError('list elements must have the same type');
  const order = keys.map((_, i) => i);
  order.sort((i, j) => celCompare(keys[i], keys[j]));
  return order.map((i) => items[i] as T);
}

function range(n: bigint): bigint[] {
  const out: bigint[] = [];
  for (let i = 0n; i < n; i++) out.push(i);
  return out;
}

interface SortByState {
  receiver: MacroAst;
  key: MacroAst;
  varName: string;
  iterCtx?: MacroIterContext;
}

/** `list.sortBy(e, key)`: cel-go's macro, evaluated directly rather than via a hidden function. */
function registerSortBy(env: Environment): void {
  registerMarkerType(env, 'palisade.internal.SortByReceiver');
  registerMacro<SortByState>(
    env,
    'palisade.internal.SortByReceiver.sortBy(ast, ast): list',
    ({ ast, args, receiver }) => {
      const [v, key] = args;
      if (receiver === null || v === undefined || key === undefined) {
        throw celError('sortBy(var, key) requires a receiver');
      }
      return {
        state: { receiver, key, varName: identifierName(v, 'sortBy(var, key) variable') },
        typeCheck(chk, macro, ctx) {
          const listType = chk.check(macro.state.receiver, ctx);
          if (!accepts(chk, 'list', listType)) {
            throw chk.createError(
              'no_matching_overload',
              `sortBy needs a list, got '${listType.name}'`,
              ast,
            );
          }
          const elem: CelTypeDecl =
            listType.kind === 'list' && listType.valueType
              ? listType.valueType
              : chk.getType('dyn');
          const iterCtx = (ctx as MacroIterContext).forkWithVariable(macro.state.varName, elem);
          macro.state.iterCtx = iterCtx;
          chk.check(macro.state.key, iterCtx);
          return listType;
        },
        evaluate(ev, macro, ctx) {
          const { iterCtx } = macro.state;
          if (iterCtx === undefined) throw celError('sortBy evaluated before type check');
          const items = toArray(ev.run(macro.state.receiver, ctx));
          const scope = iterCtx.reuse(ctx);
          return sortValues(items, (item) => ev.run(macro.state.key, scope.setIterValue(item, ev)));
        },
      };
    },
  );
}

/** Kubernetes lists library (v1) and cel-go's ext.Lists (v3). */
export function registerListsLibrary(env: Environment): void {
  fn(env, 'list<T>.isSorted(): bool', isSorted);
  fn(env, 'list<T>.sum(): T', sum);
  fn(env, 'list<T>.min(): T', extreme('min', 1));
  fn(env, 'list<T>.max(): T', extreme('max', -1));
  fn(env, 'list<T>.indexOf(T): int', indexOf);
  fn(env, 'list<T>.lastIndexOf(T): int', lastIndexOf);
  fn(env, 'dyn.includes(dyn): bool', includes);

  fn(env, 'list<T>.slice(int, int): list<T>', slice);
  fn(env, 'list.flatten(): list', (l: unknown) => flatten(l, 1n));
  fn(env, 'list.flatten(int): list', flatten);
  fn(env, 'list<T>.distinct(): list<T>', distinct);
  fn(env, 'list<T>.reverse(): list<T>', (l: unknown) => toArray(l).slice().reverse());
  fn(env, 'list<T>.sort(): list<T>', (l: unknown) => sortValues(toArray(l), (v) => v));
  const ns = registerNamespace(env, 'lists');
  fn(env, `${ns}.range(int): list<int>`, (_: unknown, n: bigint) => range(BigInt(toIndex(n))));
  registerSortBy(env);
}
