import type { Environment } from '@marcbachmann/cel-js';
import { registerBlock } from './block.js';
import { registerTwoVarComprehensions } from './comprehensions.js';
import { registerConversionFixes } from './conversions.js';
import { registerMathExtension } from './math.js';
import { registerOptionalFixes } from './optionals.js';
import { registerTypeFixes } from './types.js';

/**
 * Registers cel-go extensions beyond the Kubernetes libraries (math, two-variable
 * comprehensions, bindings) and corrections of core-language deviations of the underlying
 * CEL library, so expressions behave as cel-go evaluates them.
 */
export function registerCelExtensions(env: Environment): void {
  registerMathExtension(env);
  registerTwoVarComprehensions(env);
  registerConversionFixes(env);
  registerOptionalFixes(env);
  registerBlock(env);
  registerTypeFixes(env);
}
