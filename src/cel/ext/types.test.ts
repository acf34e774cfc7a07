import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { OPTIONAL_TYPE } from './ast.js';
import { registerTypeFixes } from './types.js';

const env = new Environment({ enableOptionalTypes: true });
registerTypeFixes(env);

describe('type fixes', () => {
  it('gives optionals the type optional_type', () => {
    expect(env.evaluate('type(optional.none())')).toBe(OPTIONAL_TYPE);
    expect(env.evaluate('type(optional.of(1)) == optional_type')).toBe(true);
    expect(env.evaluate('type(1) == optional_type')).toBe(false);
  });
});
