import type { Environment } from '@marcbachmann/cel-js';
import { identifierOf, registerMacro } from './macro-api.js';
import type {
  CelType,
  Macro,
  MacroAst,
  MacroChecker,
  MacroEvaluator,
  MacroInput,
  MacroScope,
  MacroVarScope,
} from './macro-api.js';
import { extError } from './registry.js';

/**
 * cel-go's two-variable comprehensions (`ext.TwoVarComprehensions`, Kubernetes 1.32):
 * `all`, `exists`, `existsOne` with (index, value) over lists or (key, value) over maps, and
 * `transformList`, `transformMap`, `transformMapEntry` with an optional filter. `all`/`exists`
 * absorb errors when another element decides the result, as `&&`/`||` do; the others stop at
 * the first error (cel-go's semantics).
 */

type Kind = 'all' | 'exists' | 'existsOne' | 'transformList' | 'transformMap' | 'transformMapEntry';

interface Scopes {
  readonly first: MacroVarScope;
  readonly second: MacroVarScope;
}

/** Entries of a list (index → element) or map (key → value) as CEL values. */
function entriesOf(coll: unknown, name: string): [unknown, unknown][] {
  if (Array.isArray(coll)) return coll.map((v: unknown, i) => [BigInt(i), v]);
  if (coll instanceof Map) return [...(coll as Map<unknown, unknown>).entries()];
  if (typeof coll === 'object' && coll !== null && !(coll instanceof Uint8Array))
    return Object.entries(coll);
  throw extError(`${name}() cannot range over this value (must be list or map)`);
}

/** Builds a CEL map value: a plain object when every key is a string (as cel-js does), else a Map. */
function toMapValue(entries: readonly [unknown, unknown][]): unknown {
  if (entries.every(([k]) => typeof k === 'string')) {
    const obj: Record<string, unknown> = {};
    for (const [k, v] of entries) obj[k as string] = v;
    return obj;
  }
  return new Map(entries);
}

function requireBool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw extError(`${name}() predicate must return bool`);
  return value;
}

function elementTypes(
  checker: MacroChecker,
  receiverType: CelType,
  node: MacroAst,
): [CelType, CelType] {
  const dyn = checker.getType('dyn');
  // An empty literal (`[]`, `{}`) has a type parameter as element type; bind it to dyn.
  const concrete = (t: CelType | undefined): CelType => (!t || t.kind === 'param' ? dyn : t);
  if (receiverType.kind === 'list')
    return [checker.getType('int'), concrete(receiverType.valueType)];
  if (receiverType.kind === 'map')
    return [concrete(receiverType.keyType), concrete(receiverType.valueType)];
  if (receiverType.kind === 'dyn') return [dyn, dyn];
  throw checker.createError(
    'invalid_comprehension_range',
    `cannot range over '${receiverType.name}'`,
    node,
  );
}

class TwoVarComprehension implements Macro {
  readonly async = false;
  private scopes: Scopes | undefined;
  private readonly receiver: MacroAst;
  private readonly firstVar: string;
  private readonly secondVar: string;
  private readonly filter: MacroAst | undefined;
  private readonly body: MacroAst;

  constructor(
    private readonly kind: Kind,
    input: MacroInput,
  ) {
    const [first, second, a, b] = input.args;
    if (!input.receiver || !first || !second || !a)
      throw extError(`${kind}() needs a receiver and three arguments`);
    this.receiver = input.receiver;
    this.firstVar = identifierOf(first, `${kind}() first variable`);
    this.secondVar = identifierOf(second, `${kind}() second variable`);
    if (this.firstVar === this.secondVar) throw extError(`${kind}() variables must differ`);
    this.filter = b === undefined ? undefined : a;
    this.body = b ?? a;
  }

  typeCheck(checker: MacroChecker, _macro: Macro, scope: MacroScope): CelType {
    const receiverType = checker.check(this.receiver, scope);
    const [firstType, secondType] = elementTypes(checker, receiverType, this.receiver);
    const first = scope.forkWithVariable(this.firstVar, firstType);
    const second = first.forkWithVariable(this.secondVar, secondType);
    this.scopes = { first, second };
    const bool = checker.getType('bool');
    const dyn = checker.getType('dyn');
    const isBoolish = (t: CelType): boolean => t.kind === 'dyn' || t.name === 'bool';
    if (this.filter && !isBoolish(checker.check(this.filter, second))) {
      throw checker.createError(
        'invalid_macro_argument',
        `${this.kind}() filter must return bool`,
        this.filter,
      );
    }
    const bodyType = checker.check(this.body, second);
    switch (this.kind) {
      case 'all':
      case 'exists':
      case 'existsOne':
        if (!isBoolish(bodyType)) {
          throw checker.createError(
            'invalid_macro_argument',
            `${this.kind}() predicate must return bool`,
            this.body,
          );
        }
        return bool;
      case 'transformList':
        return checker.registry.getListType(bodyType);
      case 'transformMap':
        return checker.registry.getMapType(firstType, bodyType);
      case 'transformMapEntry':
        return bodyType.kind === 'map' ? bodyType : checker.registry.getMapType(dyn, dyn);
    }
  }

  evaluate(ev: MacroEvaluator, _macro: Macro, scope: unknown): unknown {
    if (!this.scopes) throw extError(`${this.kind}() was not type-checked`);
    const { first, second } = this.scopes;
    first.reuse(scope);
    const entries = entriesOf(ev.run(this.receiver, scope), this.kind);
    const bind = (k: unknown, v: unknown): MacroVarScope => {
      first.setIterValue(k, ev);
      return second.setIterValue(v, ev);
    };
    switch (this.kind) {
      case 'all':
      case 'exists':
        return this.quantify(ev, entries, bind, this.kind === 'all');
      case 'existsOne':
        return (
          entries.filter(([k, v]) => requireBool(ev.run(this.body, bind(k, v)), this.kind))
            .length === 1
        );
      case 'transformList':
      case 'transformMap':
      case 'transformMapEntry':
        return this.transform(ev, entries, bind);
    }
  }

  /** `all` stops at the first false, `exists` at the first true; an error only wins otherwise. */
  private quantify(
    ev: MacroEvaluator,
    entries: readonly [unknown, unknown][],
    bind: (k: unknown, v: unknown) => MacroVarScope,
    isAll: boolean,
  ): boolean {
    let firstError: Error | undefined;
    for (const [k, v] of entries) {
      try {
        if (requireBool(ev.run(this.body, bind(k, v)), this.kind) !== isAll) return !isAll;
      } catch (err) {
        firstError ??= err instanceof Error ? err : extError(String(err));
      }
    }
    if (firstError !== undefined) throw firstError;
    return isAll;
  }

  private transform(
    ev: MacroEvaluator,
    entries: readonly [unknown, unknown][],
    bind: (k: unknown, v: unknown) => MacroVarScope,
  ): unknown {
    const list: unknown[] = [];
    const mapEntries: [unknown, unknown][] = [];
    const seen = new Set<unknown>();
    for (const [k, v] of entries) {
      const scope = bind(k, v);
      if (this.filter && !requireBool(ev.run(this.filter, scope), this.kind)) continue;
      const out = ev.run(this.body, scope);
      if (this.kind === 'transformList') list.push(out);
      else if (this.kind === 'transformMap') mapEntries.push([k, out]);
      else {
        for (const entry of entriesOf(out, this.kind)) {
          if (seen.has(entry[0]))
            throw extError(`transformMapEntry: duplicate key ${String(entry[0])}`);
          seen.add(entry[0]);
          mapEntries.push(entry);
        }
      }
    }
    return this.kind === 'transformList' ? list : toMapValue(mapEntries);
  }
}

const KINDS: readonly Kind[] = [
  'all',
  'exists',
  'existsOne',
  'transformList',
  'transformMap',
  'transformMapEntry',
];

/** Registers the two-variable macros; cel-js dispatches macros by name and arity, not receiver type. */
export function registerTwoVarComprehensions(env: Environment): void {
  for (const kind of KINDS) {
    const returnType = kind.startsWith('transform')
      ? kind === 'transformList'
        ? 'list<dyn>'
        : 'map<dyn, dyn>'
      : 'bool';
    registerMacro(
      env,
      `list.${kind}(ast, ast, ast): ${returnType}`,
      (input) => new TwoVarComprehension(kind, input),
    );
    if (kind.startsWith('transform')) {
      registerMacro(
        env,
        `list.${kind}(ast, ast, ast, ast): ${returnType}`,
        (input) => new TwoVarComprehension(kind, input),
      );
    }
  }
}
