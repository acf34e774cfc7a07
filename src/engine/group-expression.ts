import { PalisadeError } from '../shared/errors.js';

/**
 * Policy-group expressions: member calls (`signed()`), `true`/`false`, `!`, `==`, `!=`,
 * `&&`, `||` and parentheses, the subset Kubewarden's controller accepts. Parsed once at
 * load into a tree; evaluated with short-circuit so a member is only run when its result
 * can change the outcome, and at most once per request.
 */
export type GroupExpression =
  | { readonly op: 'member'; readonly name: string }
  | { readonly op: 'literal'; readonly value: boolean }
  | { readonly op: 'not'; readonly arg: GroupExpression }
  | {
      readonly op: '&&' | '||' | '==' | '!=';
      readonly left: GroupExpression;
      readonly right: GroupExpression;
    };

const MEMBER_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;
const RESERVED = new Set(
  'true false null in as break const continue else for function if import let loop package namespace return var void while'.split(
    ' ',
  ),
);

/** Checks a member name as Kubewarden does; returns the problem, or undefined when fine. */
export function memberNameProblem(name: string): string | undefined {
  if (!MEMBER_NAME.test(name)) return `"${name}" must match ${MEMBER_NAME.source}`;
  if (RESERVED.has(name)) return `"${name}" is a reserved word`;
  return undefined;
}

type Token =
  { kind: 'ident'; text: string; at: number } | { kind: 'punct'; text: string; at: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:([_a-zA-Z][_a-zA-Z0-9]*)|(&&|\|\||==|!=|[!()]))/y;
  let at = 0;
  while (at < source.length) {
    if (/^\s*$/.test(source.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(source);
    if (!m) throw syntaxError(source, at, 'unexpected character');
    const start = m.index + (m[0].length - (m[1] ?? m[2] ?? '').length);
    tokens.push(
      m[1] !== undefined
        ? { kind: 'ident', text: m[1], at: start }
        : { kind: 'punct', text: m[2] ?? '', at: start },
    );
    at = re.lastIndex;
  }
  return tokens;
}

function syntaxError(source: string, at: number, what: string): PalisadeError {
  return new PalisadeError('group_expression_invalid', `${what} at position ${at} in "${source}"`);
}

/** Parses `source`; every member it calls must be in `members`. */
export function parseGroupExpression(
  source: string,
  members: ReadonlySet<string>,
): GroupExpression {
  const tokens = tokenize(source);
  let i = 0;
  const peek = (): Token | undefined => tokens[i];
  const expect = (text: string): void => {
    const t = tokens[i];
    if (t?.text !== text) throw syntaxError(source, t?.at ?? source.length, `expected "${text}"`);
    i++;
  };
  const binary = (ops: readonly string[], next: () => GroupExpression) => (): GroupExpression => {
    let left = next();
    for (let t = peek(); t?.kind === 'punct' && ops.includes(t.text); t = peek()) {
      i++;
      left = { op: t.text as '&&' | '||' | '==' | '!=', left, right: next() };
    }
    return left;
  };
  const primary = (): GroupExpression => {
    const t = peek();
    if (!t) throw syntaxError(source, source.length, 'unexpected end of expression');
    i++;
    if (t.text === '!') return { op: 'not', arg: primary() };
    if (t.text === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false')) {
      return { op: 'literal', value: t.text === 'true' };
    }
    if (t.kind === 'ident') {
      expect('(');
      expect(')');
      if (!members.has(t.text)) throw syntaxError(source, t.at, `unknown policy "${t.text}"`);
      return { op: 'member', name: t.text };
    }
    throw syntaxError(source, t.at, `unexpected "${t.text}"`);
  };
  const equality = binary(['==', '!='], primary);
  const and = binary(['&&'], equality);
  const or = binary(['||'], and);
  const tree = or();
  const rest = peek();
  if (rest) throw syntaxError(source, rest.at, `unexpected "${rest.text}"`);
  return tree;
}

/** Evaluates with short-circuit; `member` is called at most once per name. */
export async function evaluateGroupExpression(
  tree: GroupExpression,
  member: (name: string) => Promise<boolean>,
): Promise<boolean> {
  const memo = new Map<string, Promise<boolean>>();
  const call = (name: string): Promise<boolean> => {
    let p = memo.get(name);
    if (!p) {
      p = member(name);
      memo.set(name, p);
    }
    return p;
  };
  const run = async (node: GroupExpression): Promise<boolean> => {
    switch (node.op) {
      case 'member':
        return call(node.name);
      case 'literal':
        return node.value;
      case 'not':
        return !(await run(node.arg));
      case '&&':
        return (await run(node.left)) && run(node.right);
      case '||':
        return (await run(node.left)) || run(node.right);
      case '==':
        return (await run(node.left)) === (await run(node.right));
      case '!=':
        return (await run(node.left)) !== (await run(node.right));
    }
  };
  return run(tree);
}
