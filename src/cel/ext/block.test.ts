import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { registerBlock } from './block.js';

const env = new Environment();
registerBlock(env);
const run = (expr: string): unknown => env.evaluate(expr) as unknown;

describe('cel.block', () => {
  it('binds slots in order, each visible to later slots and the result', () => {
    expect(run('cel.block([1, cel.index(0) + 1, cel.index(1) * 10], cel.index(2))')).toBe(20n);
    expect(run('cel.block([[1, 2], size(cel.index(0))], cel.index(1) + cel.index(1))')).toBe(4n);
  });

  it('type-checks slot references', () => {
    expect(() => run("cel.block(['a'], cel.index(0) + 1)")).toThrow();
    expect(() => run('cel.block([1], cel.index(1))')).toThrow(/no slot 1/);
  });

  it('needs a list literal and a literal index', () => {
    expect(() => run('cel.block(1, 2)')).toThrow(/list literal/);
    expect(() => run('cel.block([1], cel.index(-1))')).toThrow(/non-negative/);
  });
});
