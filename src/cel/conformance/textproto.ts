/**
 * A schema-less reader for the protobuf text format, just large enough for the cel-spec
 * `SimpleTestFile` data. Written here rather than using `@bufbuild/protobuf`'s txtpb so the
 * runner needs no generated descriptors and no devDependency at run time.
 */

/** A scalar or nested value of one field occurrence. */
export type TextValue =
  | { readonly kind: 'message'; readonly message: TextMessage }
  | { readonly kind: 'string'; readonly bytes: Uint8Array }
  | { readonly kind: 'scalar'; readonly text: string };

/** One `name: value` occurrence; repeated fields appear once per element, in order. */
export interface TextField {
  readonly name: string;
  readonly value: TextValue;
}

/** A message body: its fields in source order. */
export interface TextMessage {
  readonly fields: readonly TextField[];
}

/** Raised with a line number so a malformed data file is easy to locate. */
export class TextProtoError extends Error {
  constructor(message: string, line: number) {
    super(`textproto line ${line}: ${message}`);
    this.name = 'TextProtoError';
  }
}

type Token =
  | { readonly kind: 'punct'; readonly text: string; readonly line: number }
  | { readonly kind: 'word'; readonly text: string; readonly line: number }
  | { readonly kind: 'string'; readonly bytes: Uint8Array; readonly line: number };

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
  "'": 39,
  '"': 34,
  '?': 63,
};

const encoder = new TextEncoder();

function isWordChar(ch: string): boolean {
  return /[A-Za-z0-9_.+-]/.test(ch);
}

/** Decodes one quoted string starting at `start` (the quote); returns bytes and the end index. */
function readString(src: string, start: number, line: number): { bytes: number[]; end: number } {
  const quote = src[start];
  const out: number[] = [];
  let i = start + 1;
  for (;;) {
    const ch = src[i];
    if (ch === undefined || ch === '\n') throw new TextProtoError('unterminated string', line);
    if (ch === quote) return { bytes: out, end: i + 1 };
    if (ch !== '\\') {
      const cp = src.codePointAt(i) ?? 0;
      const text = String.fromCodePoint(cp);
      out.push(...encoder.encode(text));
      i += text.length;
      continue;
    }
    const esc = src[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES[esc];
    if (simple !== undefined) {
      out.push(simple);
      i += 2;
    } else if (/[0-7]/.test(esc)) {
      const m = /^[0-7]{1,3}/.exec(src.slice(i + 1, i + 4)) ?? [''];
      out.push(parseInt(m[0], 8) & 0xff);
      i += 1 + m[0].length;
    } else if (esc === 'x' || esc === 'X') {
      const m = /^[0-9a-fA-F]{1,2}/.exec(src.slice(i + 2, i + 4));
      if (!m) throw new TextProtoError('bad \\x escape', line);
      out.push(parseInt(m[0], 16));
      i += 2 + m[0].length;
    } else if (esc === 'u' || esc === 'U') {
      const len = esc === 'u' ? 4 : 8;
      const hex = src.slice(i + 2, i + 2 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) {
        throw new TextProtoError(`bad \\${esc} escape`, line);
      }
      out.push(...encoder.encode(String.fromCodePoint(parseInt(hex, 16))));
      i += 2 + len;
    } else {
      throw new TextProtoError(`unknown escape \\${esc}`, line);
    }
  }
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < src.length) {
    const ch = src[i] ?? '';
    if (ch === '\n') {
      line++;
      i++;
    } else if (/\s/.test(ch)) {
      i++;
    } else if (ch === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (ch === '"' || ch === "'") {
      const { bytes, end } = readString(src, i, line);
      const prev = tokens.at(-1);
      // Adjacent string literals concatenate, as in C.
      if (prev?.kind === 'string') {
        tokens[tokens.length - 1] = { ...prev, bytes: Uint8Array.from([...prev.bytes, ...bytes]) };
      } else {
        tokens.push({ kind: 'string', bytes: Uint8Array.from(bytes), line });
      }
      i = end;
    } else if ('{}[]<>:,;/'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch, line });
      i++;
    } else if (isWordChar(ch)) {
      let j = i;
      while (j < src.length && isWordChar(src[j] ?? '')) j++;
      tokens.push({ kind: 'word', text: src.slice(i, j), line });
      i = j;
    } else {
      throw new TextProtoError(`unexpected character ${JSON.stringify(ch)}`, line);
    }
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private line(): number {
    return this.peek()?.line ?? this.tokens.at(-1)?.line ?? 0;
  }

  private next(): Token {
    const tok = this.tokens[this.pos++];
    if (!tok) throw new TextProtoError('unexpected end of input', this.line());
    return tok;
  }

  private isPunct(text: string): boolean {
    const tok = this.peek();
    return tok?.kind === 'punct' && tok.text === text;
  }

  parseMessage(close: string | undefined): TextMessage {
    const fields: TextField[] = [];
    for (;;) {
      if (close === undefined ? this.peek() === undefined : this.isPunct(close)) {
        if (close !== undefined) this.next();
        return { fields };
      }
      this.parseField(fields);
      if (this.isPunct(',') || this.isPunct(';')) this.next();
    }
  }

  private parseFieldName(): string {
    const tok = this.next();
    if (tok.kind === 'word') return tok.text;
    if (tok.kind === 'punct' && tok.text === '[') {
      // Extension or Any type URL: `[type.googleapis.com/pkg.Type]`.
      let name = '';
      while (!this.isPunct(']')) {
        const part = this.next();
        if (part.kind === 'string') throw new TextProtoError('string in type URL', part.line);
        name += part.text;
      }
      this.next();
      return `[${name}]`;
    }
    throw new TextProtoError('expected a field name', tok.line);
  }

  private parseField(out: TextField[]): void {
    const name = this.parseFieldName();
    const hasColon = this.isPunct(':');
    if (hasColon) this.next();
    if (this.isPunct('[')) {
      this.next();
      while (!this.isPunct(']')) {
        out.push({ name, value: this.parseValue() });
        if (this.isPunct(',')) this.next();
      }
      this.next();
      return;
    }
    if (!hasColon && !this.isPunct('{') && !this.isPunct('<')) {
      throw new TextProtoError(`expected ':' after ${name}`, this.line());
    }
    out.push({ name, value: this.parseValue() });
  }

  private parseValue(): TextValue {
    const tok = this.next();
    if (tok.kind === 'string') return { kind: 'string', bytes: tok.bytes };
    if (tok.kind === 'word') return { kind: 'scalar', text: tok.text };
    if (tok.text === '{') return { kind: 'message', message: this.parseMessage('}') };
    if (tok.text === '<') return { kind: 'message', message: this.parseMessage('>') };
    if (tok.text === '-') {
      const num = this.next();
      if (num.kind !== 'word') throw new TextProtoError('expected a number after -', num.line);
      return { kind: 'scalar', text: `-${num.text}` };
    }
    throw new TextProtoError(`unexpected '${tok.text}'`, tok.line);
  }
}

/** Parses a whole text-format document into its top-level message. */
export function parseTextProto(src: string): TextMessage {
  return new Parser(tokenize(src)).parseMessage(undefined);
}
