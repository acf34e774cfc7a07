import type { Environment } from '@marcbachmann/cel-js';
import { RE2JS } from 're2js';
import {
  accepts,
  evaluateArgs,
  markSyncIfPossible,
  registerMacro,
  type MacroAst,
  type MacroChecker,
} from './macro.js';
import { registerMarkerType } from './namespace.js';
import { celError, fn, toIndex } from './values.js';

const CACHE_LIMIT = 500;
const cache = new Map<string, RE2JS>();

/**
 * Compiles an RE2 pattern, memoised: policies evaluate the same literal patterns on every
 * request, and RE2 compilation costs far more than a linear-time match.
 */
export function compileRe2(pattern: string): RE2JS {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    throw celError(e instanceof Error ? e.message : `invalid regular expression: ${pattern}`);
  }
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(pattern, re);
  return re;
}

/** CEL `matches`: an unanchored RE2 search, as Go's `regexp.MatchString`. */
export function re2Matches(s: string, pattern: string): boolean {
  return compileRe2(pattern).test(s);
}

/** Go's `FindAllString`: non-overlapping matches, dropping an empty match that abuts the last one. */
function findAll(s: string, pattern: string, limit: number): string[] {
  const out: string[] = [];
  if (limit === 0) return out;
  const m = compileRe2(pattern).matcher(s);
  let prevEnd = -1;
  while ((limit < 0 || out.length < limit) && m.find()) {
    const start = m.start();
    const end = m.end();
    if (start === end && start === prevEnd) continue;
    out.push(m.group() ?? '');
    prevEnd = end;
  }
  return out;
}

function assertStringOperand(chk: MacroChecker, node: MacroAst, ctx: unknown, ast: MacroAst): void {
  const t = chk.check(node, ctx);
  if (!accepts(chk, 'string', t)) {
    throw chk.createError(
      'no_matching_overload',
      `found no matching overload for 'matches' applied to '${t.name}'`,
      ast,
    );
  }
}

/** Rejects invalid literal patterns when the expression is checked, as Kubernetes does. */
function validateLiteralPattern(chk: MacroChecker, node: MacroAst): void {
  if (node.op !== 'value' || typeof node.args !== 'string') return;
  try {
    compileRe2(node.args);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw chk.createError('invalid_regex', `invalid regular expression: ${reason}`, node);
  }
}

/**
 * Makes `s.matches(re)` use RE2.
 *
 * cel-js registers `string.matches(string)` on a module-private global registry that every
 * Environment inherits, runs it on JS `RegExp` (backtracking, ReDoS-prone, Perl/JS syntax), and
 * refuses a second `string.matches(string)` overload as overlapping. What it does offer is a
 * public macro API, and it expands macros at parse time by name and arity alone, before any
 * overload resolution. So we register `matches` as a one-argument macro on a private receiver
 * type (a different receiver type does not overlap the built-in), and the macro takes over every
 * `x.matches(y)` call: its type check accepts only string (or dyn) operands and rejects invalid
 * literal patterns at compile time; its evaluation matches with re2js (linear time) through a
 * compiled-pattern cache. This uses only the documented macro hook, needs no access to cel-js
 * internals, and survives `env.clone()` because macros live in the inherited registry. The
 * global form `matches(s, re)` does not exist in cel-js, so it is an ordinary function.
 */
function registerRe2Matches(env: Environment): void {
  registerMarkerType(env, 'palisade.internal.Re2MatchesReceiver');
  registerMacro<{ receiver: MacroAst; pattern: MacroAst }>(
    env,
    'palisade.internal.Re2MatchesReceiver.matches(ast): bool',
    ({ ast, args, receiver }) => {
      const pattern = args[0];
      if (receiver === null || pattern === undefined) throw celError('matches() needs a receiver');
      return {
        state: { receiver, pattern },
        typeCheck(chk, macro, ctx) {
          assertStringOperand(chk, macro.state.receiver, ctx, ast);
          assertStringOperand(chk, macro.state.pattern, ctx, ast);
          validateLiteralPattern(chk, macro.state.pattern);
          markSyncIfPossible(ast, [macro.state.receiver, macro.state.pattern]);
          return chk.getType('bool');
        },
        evaluate(ev, macro, ctx) {
          return evaluateArgs(ev, [macro.state.receiver, macro.state.pattern], ctx, ([s, re]) => {
            if (typeof s !== 'string' || typeof re !== 'string') {
              throw celError("found no matching overload for 'matches'");
            }
            return re2Matches(s, re);
          });
        },
      };
    },
  );
  fn(env, 'matches(string, string): bool', (s: string, re: string) => re2Matches(s, re));
}

/** Kubernetes regex library (`find`, `findAll`) plus RE2 `matches`. */
export function registerRegexLibrary(env: Environment): void {
  registerRe2Matches(env);
  fn(env, 'string.find(string): string', (s: string, re: string) => findAll(s, re, 1)[0] ?? '');
  fn(env, 'string.findAll(string): list<string>', (s: string, re: string) => findAll(s, re, -1));
  fn(env, 'string.findAll(string, int): list<string>', (s: string, re: string, n: bigint) =>
    findAll(s, re, n < 0n ? -1 : toIndex(n)),
  );
}
