import { describe, expect, it } from 'vitest';
import { TextProtoError, parseTextProto } from './textproto.js';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('parseTextProto', () => {
  it('reads scalars, nested messages with and without colons, and comments', () => {
    const msg = parseTextProto(
      '# header\nname: "basic"\nsection { test: { expr: "1" } }\nflag: true',
    );
    expect(msg.fields.map((f) => f.name)).toEqual(['name', 'section', 'flag']);
    const section = msg.fields[1]!.value;
    expect(section.kind).toBe('message');
    if (section.kind !== 'message') return;
    expect(section.message.fields[0]!.name).toBe('test');
    expect(msg.fields[2]!.value).toEqual({ kind: 'scalar', text: 'true' });
  });

  it('decodes C-style escapes into bytes and concatenates adjacent strings', () => {
    const msg = parseTextProto(String.raw`a: "\x41\101\n\u00e9" 'b\'c'`);
    const v = msg.fields[0]!.value;
    expect(v.kind).toBe('string');
    if (v.kind !== 'string') return;
    expect(text(v.bytes)).toBe('AA\né' + "b'c");
  });

  it('keeps raw octal bytes that are not valid UTF-8', () => {
    const v = parseTextProto(String.raw`b: "\377"`).fields[0]!.value;
    expect(v).toEqual({ kind: 'string', bytes: Uint8Array.from([255]) });
  });

  it('expands list syntax into repeated fields and reads negative numbers and type URLs', () => {
    const msg = parseTextProto(
      'v: [1, -2]; any { [type.googleapis.com/google.protobuf.Int32Value] { value: -inf } }',
    );
    expect(msg.fields.filter((f) => f.name === 'v').map((f) => f.value)).toEqual([
      { kind: 'scalar', text: '1' },
      { kind: 'scalar', text: '-2' },
    ]);
    const any = msg.fields[2]!.value;
    if (any.kind !== 'message') throw new Error('expected a message');
    expect(any.message.fields[0]!.name).toBe('[type.googleapis.com/google.protobuf.Int32Value]');
  });

  it('reports malformed input with its line', () => {
    expect(() => parseTextProto('a: 1\nb: "open')).toThrow(TextProtoError);
    expect(() => parseTextProto('a: 1\nb: "open')).toThrow(/line 2/);
    expect(() => parseTextProto('a { b: 1')).toThrow(/end of input/);
  });
});
