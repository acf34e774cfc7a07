import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { registerBlock } from './block.js';
import { registerTwoVarComprehensions } from './comprehensions.js';
import { registerIterVarMacros } from './itervar.js';

const env = new Environment();
registerTwoVarComprehensions(env);
registerBlock(env);
registerIterVarMacros(env);
const run = (expr: string): unknown => env.evaluate(expr) as unknown;

describe('cel.iterVar (cel-spec test-only macro)', () => {
  it('names the iteration variable of comprehension macros and refers to it', () => {
    expect(run('[1, 2].exists(cel.iterVar(0, 0), cel.iterVar(0, 0) > 1)')).toBe(true);
    expect(run('[1, 2].all(cel.iterVar(0, 0), cel.iterVar(0, 0) > 1)')).toBe(false);
    expect(run('[1, 2, 3].map(cel.iterVar(0, 0), cel.iterVar(0, 0) * 2)')).toEqual([2n, 4n, 6n]);
    expect(
      run(
        '[1, 2].map(cel.iterVar(0, 0), [1, 2, 3].filter(cel.iterVar(1, 0), cel.iterVar(1, 0) == cel.iterVar(0, 0)))',
      ),
    ).toEqual([[1n], [2n]]);
    expect(
      run('cel.block([[1, 2, 3]], cel.index(0).map(cel.iterVar(0, 0), cel.iterVar(0, 0) + 1))'),
    ).toEqual([2n, 3n, 4n]);
  });

  it('leaves ordinary macro calls to the macros it replaced', () => {
    expect(run('[1, 2].exists(x, x == 2)')).toBe(true);
    expect(run('[1, 2].map(x, x > 1, x * 10)')).toEqual([20n]);
    expect(run('[1, 2].exists(i, v, i == 1 && v == 2)')).toBe(true);
    expect(() => run('[1].exists(1, true)')).toThrow(/iteration variable/);
  });

  it('rejects non-literal indexes and unbound variables', () => {
    expect(() => run('cel.iterVar(0, 0)')).toThrow();
    expect(() => run('[1].exists(cel.iterVar(0, x), true)')).toThrow(/int literals/);
  });
});
