import type { Environment } from '@marcbachmann/cel-js';
import { registerMacro } from './macro-api.js';
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
 * cel-go's `cel.block([e0, e1, …], result)` with `cel.index(i)` references (ext.Bindings
 * block form, emitted by common-subexpression elimination). Slot i may use earlier slots.
 * Slots are evaluated once, in order, before the result.
 */

/** Scope variable names cannot collide with CEL identifiers because `@` is not an identifier character. */
const slotName = (i: number): string => `@index${i}`;

/** The scope methods cel-js contexts have beyond forking; used to read a slot. */
interface SlotScope {
  getVariable(name: string): { readonly type: CelType } | undefined;
  getValue(name: string): unknown;
}

function isSlotScope(scope: unknown): scope is SlotScope {
  return (
    typeof scope === 'object' && scope !== null && 'getVariable' in scope && 'getValue' in scope
  );
}

class Block implements Macro {
  readonly async = false;
  private scopes: MacroVarScope[] = [];
  private readonly slots: readonly MacroAst[];
  private readonly result: MacroAst;

  constructor(input: MacroInput) {
    const [list, result] = input.args;
    if (list?.op !== 'list' || !Array.isArray(list.args) || !result) {
      throw extError('cel.block() needs a list literal of bindings and a result expression');
    }
    this.slots = list.args as MacroAst[];
    this.result = result;
  }

  typeCheck(checker: MacroChecker, _macro: Macro, scope: MacroScope): CelType {
    const scopes: MacroVarScope[] = [];
    let current: MacroScope = scope;
    this.slots.forEach((slot, i) => {
      const next = current.forkWithVariable(slotName(i), checker.check(slot, current));
      scopes.push(next);
      current = next;
    });
    this.scopes = scopes;
    return checker.check(this.result, current);
  }

  evaluate(ev: MacroEvaluator, _macro: Macro, scope: unknown): unknown {
    let current: unknown = scope;
    this.scopes.forEach((slotScope, i) => {
      const slot = this.slots[i];
      if (!slot) return;
      const value = ev.run(slot, current);
      current = (i === 0 ? slotScope.reuse(scope) : slotScope).setIterValue(value, ev);
    });
    return ev.run(this.result, current);
  }
}

class Index implements Macro {
  readonly async = false;
  private readonly name: string;

  constructor(input: MacroInput) {
    const [arg] = input.args;
    if (arg?.op !== 'value' || typeof arg.args !== 'bigint' || arg.args < 0n) {
      throw extError('cel.index() needs a non-negative int literal');
    }
    this.name = slotName(Number(arg.args));
  }

  typeCheck(checker: MacroChecker, _macro: Macro, scope: MacroScope): CelType {
    const decl = isSlotScope(scope) ? scope.getVariable(this.name) : undefined;
    if (!decl)
      throw checker.createError(
        'unknown_variable',
        `cel.index(): no slot ${this.name.slice(6)} in scope`,
      );
    return decl.type;
  }

  evaluate(_ev: MacroEvaluator, _macro: Macro, scope: unknown): unknown {
    if (!isSlotScope(scope)) throw extError('cel.index() outside cel.block()');
    return scope.getValue(this.name);
  }
}

export function registerBlock(env: Environment): void {
  // `cel` is cel-js's own namespace constant (type CelNamespace), which also provides cel.bind.
  registerMacro(env, 'CelNamespace.block(ast, ast): dyn', (input) => new Block(input));
  registerMacro(env, 'CelNamespace.index(ast): dyn', (input) => new Index(input));
}
