import { Environment } from '@marcbachmann/cel-js';
import { type AstNode, wrapCheck } from './ast-node.js';

/** The `Type` class of cel-js values such as `int` (not exported). */
const TypeClass = (new Environment().evaluate('int') as object).constructor as new (
  name: string,
) => object;
const CEL_NULL_TYPE: unknown = new Environment().evaluate('type(null)');
/** CEL names the type of `null` `null_type`; cel-js names its type value `null`. */
export const NULL_TYPE = new TypeClass('null_type');
/** The type of optional values, `optional_type`. */
export const OPTIONAL_TYPE = new TypeClass('optional_type');

/** Maps cel-js's type value of `null` to CEL's `null_type`. */
export function celTypeValue(v: unknown): unknown {
  return v === CEL_NULL_TYPE ? NULL_TYPE : v;
}

/** Makes the `null_type` identifier denote CEL's `null_type` rather than cel-js's `null`. */
export function fixNullTypeConstant(node: AstNode): void {
  if (node.args !== 'null_type') return;
  wrapCheck(node, (_chk, type) => {
    const alternate = node.meta.alternate;
    if (alternate && alternate.args === CEL_NULL_TYPE) alternate.args = NULL_TYPE;
    return type;
  });
}
