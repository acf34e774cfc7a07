import type { Environment } from '@marcbachmann/cel-js';
import { OPTIONAL_TYPE } from './ast.js';
import { registerSync } from './registry.js';

/** `type(optional)` and the `optional_type` type denotation of cel-go's optional library. */
export function registerTypeFixes(env: Environment): void {
  registerSync(env, 'type(optional): type', () => OPTIONAL_TYPE);
  env.registerConstant('optional_type', 'type', OPTIONAL_TYPE);
}
