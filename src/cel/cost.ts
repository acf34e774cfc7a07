/**
 * A coarse static cost estimate. Kubernetes estimates CEL cost to reject expressions that
 * could run away; CEL has no loops, so the only way an expression's running time grows
 * faster than its input is by nesting comprehensions (or by building large values and
 * iterating them). An expression with at most one level of comprehension is linear in the
 * request, which the request size limit already bounds; anything deeper runs under a
 * deadline.
 */

const COMPREHENSIONS = new Set([
  'all',
  'exists',
  'exists_one',
  'existsOne',
  'map',
  'filter',
  'transformList',
  'transformMap',
  'transformMapEntry',
  'sortBy',
]);

/** Functions whose result size is not bounded by the input: iterating it is not linear. */
const GENERATORS = new Set(['range', 'repeat']);

interface AstLike {
  readonly op?: unknown;
  readonly args?: unknown;
}

/** True when the expression's running time is not bounded linearly by its input. */
export function needsDeadline(ast: unknown): boolean {
  return comprehensionDepth(ast) >= 2 || callsGenerator(ast);
}

function comprehensionDepth(node: unknown): number {
  if (Array.isArray(node)) return Math.max(0, ...node.map(comprehensionDepth));
  if (!isAst(node)) return 0;
  const inner = comprehensionDepth(node.args);
  return isCallTo(node, COMPREHENSIONS) ? inner + 1 : inner;
}

function callsGenerator(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(callsGenerator);
  if (!isAst(node)) return false;
  return isCallTo(node, GENERATORS) || callsGenerator(node.args);
}

function isCallTo(node: AstLike, names: ReadonlySet<string>): boolean {
  if (node.op !== 'rcall' && node.op !== 'call') return false;
  const args = node.args;
  return Array.isArray(args) && typeof args[0] === 'string' && names.has(args[0]);
}

function isAst(node: unknown): node is AstLike {
  return typeof node === 'object' && node !== null && 'op' in node;
}
