import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { Errno, STDIN_RIGHTS, STDOUT_RIGHTS } from './preview1-abi.js';
import { Preview1, type Preview1Options } from './preview1.js';

const wabt = await wabtInit();
const utf8 = new TextEncoder();
const text = new TextDecoder();

const SIGNATURES = {
  fd_read: 'i32 i32 i32 i32',
  fd_write: 'i32 i32 i32 i32',
  fd_close: 'i32',
  fd_fdstat_get: 'i32 i32',
  fd_fdstat_set_flags: 'i32 i32',
  fd_filestat_get: 'i32 i32',
  fd_seek: 'i32 i64 i32 i32',
  fd_tell: 'i32 i32',
  poll_oneoff: 'i32 i32 i32 i32',
} as const;
type Name = keyof typeof SIGNATURES;
type Namespace = 'wasi_snapshot_preview1' | 'wasi_unstable';

const modules = new Map<Namespace, WebAssembly.Module>();

/** A module that re-exports the stdio functions of `ns` with their exact types. */
function module(ns: Namespace): WebAssembly.Module {
  const cached = modules.get(ns);
  if (cached) return cached;
  const entries = Object.entries(SIGNATURES);
  const imports = entries.map(
    ([name, params]) => `(import "${ns}" "${name}" (func $${name} (param ${params}) (result i32)))`,
  );
  const callers = entries.map(([name, params]) => {
    const gets = params.split(' ').map((_, i) => `local.get ${i}`);
    return `(func (export "${name}") (param ${params}) (result i32) ${gets.join(' ')} call $${name})`;
  });
  const parsed = wabt.parseWat(
    'stdio.wat',
    `(module ${imports.join(' ')} ${callers.join(' ')}
    (memory (export "memory") 1))`,
  );
  const compiled = new WebAssembly.Module(parsed.toBinary({}).buffer);
  parsed.destroy();
  modules.set(ns, compiled);
  return compiled;
}

function start(options: Partial<Preview1Options> = {}, ns: Namespace = 'wasi_snapshot_preview1') {
  const wasi = new Preview1({ args: [], ...options });
  const instance = new WebAssembly.Instance(module(ns), wasi.imports());
  const memory = instance.exports['memory'] as WebAssembly.Memory;
  wasi.bind(memory);
  const view = new DataView(memory.buffer);
  const bytes = new Uint8Array(memory.buffer);
  const call = (name: Name, ...args: (number | bigint)[]): number =>
    (instance.exports[name] as (...a: unknown[]) => number)(...args);
  /** Writes iovecs at 0 for the given (ptr, len) pairs; returns their count. */
  const iovecs = (...pairs: [number, number][]): number => {
    pairs.forEach(([ptr, len], i) => {
      view.setUint32(i * 8, ptr, true);
      view.setUint32(i * 8 + 4, len, true);
    });
    return pairs.length;
  };
  const write = (fd: number, ...chunks: string[]): number => {
    let at = 1024;
    const pairs = chunks.map((chunk): [number, number] => {
      const encoded = utf8.encode(chunk);
      bytes.set(encoded, at);
      at += encoded.length;
      return [at - encoded.length, encoded.length];
    });
    return call('fd_write', fd, 0, iovecs(...pairs), 512);
  };
  return { wasi, view, bytes, call, iovecs, write };
}

describe('fd_write', () => {
  it('captures stdout and stderr, gathering every iovec', () => {
    const g = start();
    expect(g.write(1, 'hello, ', 'world')).toBe(Errno.success);
    expect(g.view.getUint32(512, true)).toBe(12);
    expect(g.write(2, 'oops')).toBe(Errno.success);
    expect(g.write(1, '!')).toBe(Errno.success);
    expect(text.decode(g.wasi.stdout)).toBe('hello, world!');
    expect(text.decode(g.wasi.stderr)).toBe('oops');
  });

  it('refuses stdin and unknown descriptors', () => {
    const g = start();
    expect(g.write(0, 'x')).toBe(Errno.badf);
    expect(g.write(3, 'x')).toBe(Errno.badf);
    expect(g.write(-1, 'x')).toBe(Errno.badf);
  });

  it('keeps earlier views intact while the buffer grows', () => {
    const g = start();
    g.write(1, 'first');
    const early = g.wasi.stdout;
    for (let i = 0; i < 20; i++) g.write(1, 'x'.repeat(1000));
    expect(text.decode(early)).toBe('first');
    expect(g.wasi.stdout).toHaveLength(20_005);
  });

  it('fails a write past maxOutputBytes with EFBIG, keeping none of it', () => {
    const g = start({ maxOutputBytes: 10 });
    expect(g.write(1, '12345678')).toBe(Errno.success);
    expect(g.wasi.outputLimitReached).toBe(false);
    expect(g.write(1, 'abc')).toBe(Errno.fbig);
    expect(g.wasi.outputLimitReached).toBe(true);
    expect(g.write(1, '9', '0')).toBe(Errno.success);
    expect(text.decode(g.wasi.stdout)).toBe('1234567890');
    expect(g.write(2, '0123456789')).toBe(Errno.success);
    expect(g.write(1, '')).toBe(Errno.success);
  });

  it('answers EFAULT for buffers outside memory and writes nothing', () => {
    const g = start();
    expect(g.call('fd_write', 1, 0, g.iovecs([10, 5], [65530, 10]), 512)).toBe(Errno.fault);
    expect(g.call('fd_write', 1, 0, g.iovecs([10, 5]), 65534)).toBe(Errno.fault);
    expect(g.call('fd_write', 1, 65532, 2, 512)).toBe(Errno.fault);
    expect(g.wasi.stdout).toHaveLength(0);
  });

  it('rejects a negative limit', () => {
    expect(() => new Preview1({ args: [], maxOutputBytes: -1 })).toThrow(/maxOutputBytes/);
  });
});

describe('fd_read', () => {
  const read = (g: ReturnType<typeof start>, ...lengths: number[]): string => {
    const pairs = lengths.map((len, i): [number, number] => [2048 + i * 100, len]);
    expect(g.call('fd_read', 0, 0, g.iovecs(...pairs), 512)).toBe(Errno.success);
    const n = g.view.getUint32(512, true);
    let out = '';
    let left = n;
    for (const [ptr, len] of pairs) {
      out += text.decode(g.bytes.subarray(ptr, ptr + Math.min(len, left)));
      left -= Math.min(len, left);
    }
    return out;
  };

  it('scatters stdin over the iovecs, then reports end of input as 0 bytes', () => {
    const g = start({ stdin: utf8.encode('{"request":1}') });
    expect(read(g, 4, 3)).toBe('{"reque');
    expect(read(g, 2, 50)).toBe('st":1}');
    expect(read(g, 50)).toBe('');
    expect(read(g, 50)).toBe('');
  });

  it('delivers bytes appended after end of input, in order', () => {
    const g = start({ stdin: utf8.encode('ab') });
    expect(read(g, 10)).toBe('ab');
    expect(read(g, 10)).toBe('');
    g.wasi.appendStdin(utf8.encode('{"answer":'));
    g.wasi.appendStdin(new Uint8Array(0));
    g.wasi.appendStdin(utf8.encode('42}'));
    expect(read(g, 4, 20)).toBe('{"answer":42}');
    expect(read(g, 10)).toBe('');
  });

  it('reads nothing from stdout, closed or unknown descriptors', () => {
    const g = start({ stdin: utf8.encode('data') });
    expect(g.call('fd_read', 1, 0, g.iovecs([2048, 4]), 512)).toBe(Errno.badf);
    expect(g.call('fd_read', 7, 0, g.iovecs([2048, 4]), 512)).toBe(Errno.badf);
    expect(g.call('fd_close', 0)).toBe(Errno.success);
    expect(g.call('fd_read', 0, 0, g.iovecs([2048, 4]), 512)).toBe(Errno.badf);
  });

  it('answers EFAULT without consuming input', () => {
    const g = start({ stdin: utf8.encode('keep') });
    expect(g.call('fd_read', 0, 0, g.iovecs([2048, 2], [65535, 2]), 512)).toBe(Errno.fault);
    expect(g.call('fd_read', 0, 0, g.iovecs([2048, 2]), 65533)).toBe(Errno.fault);
    expect(read(g, 10)).toBe('keep');
  });
});

describe('descriptor state', () => {
  it('closes stdio once; a closed descriptor is EBADF everywhere', () => {
    const g = start();
    expect(g.call('fd_close', 1)).toBe(Errno.success);
    expect(g.call('fd_close', 1)).toBe(Errno.badf);
    expect(g.call('fd_close', 3)).toBe(Errno.badf);
    expect(g.write(1, 'x')).toBe(Errno.badf);
    expect(g.call('fd_fdstat_get', 1, 256)).toBe(Errno.badf);
    expect(g.call('fd_seek', 1, 0n, 0, 256)).toBe(Errno.badf);
    expect(g.write(2, 'still open')).toBe(Errno.success);
  });

  it('describes stdio as character devices in fdstat (24 bytes, padding zeroed)', () => {
    const g = start();
    g.bytes.fill(0xff, 256, 512);
    expect(g.call('fd_fdstat_get', 0, 256)).toBe(Errno.success);
    expect([...g.bytes.subarray(256, 264)]).toEqual([2, 0, 0, 0, 0, 0, 0, 0]);
    expect(g.view.getBigUint64(264, true)).toBe(STDIN_RIGHTS);
    expect(g.view.getBigUint64(272, true)).toBe(0n);
    expect(g.bytes[280]).toBe(0xff);
    expect(g.call('fd_fdstat_get', 2, 256)).toBe(Errno.success);
    expect(g.view.getBigUint64(264, true)).toBe(STDOUT_RIGHTS);
    expect(g.call('fd_fdstat_get', 3, 256)).toBe(Errno.badf);
    expect(g.call('fd_fdstat_get', 1, 65530)).toBe(Errno.fault);
  });

  it('keeps the fdflags set on a descriptor and rejects unknown bits', () => {
    const g = start();
    expect(g.call('fd_fdstat_set_flags', 1, 0x4 | 0x1)).toBe(Errno.success);
    expect(g.call('fd_fdstat_get', 1, 256)).toBe(Errno.success);
    expect(g.view.getUint16(258, true)).toBe(0x5);
    expect(g.call('fd_fdstat_set_flags', 1, 0x20)).toBe(Errno.inval);
    expect(g.call('fd_fdstat_set_flags', 9, 0)).toBe(Errno.badf);
  });

  it.each([
    ['wasi_snapshot_preview1', 64, 24, 8],
    ['wasi_unstable', 56, 20, 4],
  ] as const)('lays out %s filestat in %i bytes, nlink at %i', (ns, size, nlinkAt, nlinkBytes) => {
    const g = start({}, ns);
    g.bytes.fill(0xff, 256, 512);
    expect(g.call('fd_filestat_get', 0, 256)).toBe(Errno.success);
    const expected = new Uint8Array(size);
    expected[16] = 2;
    expected[nlinkAt] = 1;
    expect([...g.bytes.subarray(256, 256 + size)]).toEqual([...expected]);
    expect(g.bytes[256 + size]).toBe(0xff);
    expect(nlinkAt + nlinkBytes).toBeLessThanOrEqual(size);
    expect(g.call('fd_filestat_get', 4, 256)).toBe(Errno.badf);
  });

  it('cannot seek or tell on stdio', () => {
    const g = start();
    for (const fd of [0, 1, 2]) {
      expect(g.call('fd_seek', fd, 0n, 0, 256)).toBe(Errno.spipe);
      expect(g.call('fd_tell', fd, 256)).toBe(Errno.spipe);
    }
    expect(g.call('fd_seek', 3, 5n, 0, 256)).toBe(Errno.badf);
    expect(g.call('fd_tell', 3, 256)).toBe(Errno.badf);
  });
});

describe('poll_oneoff', () => {
  const SUB = { wasi_snapshot_preview1: [48, 16], wasi_unstable: [56, 24] } as const;

  it.each(['wasi_snapshot_preview1', 'wasi_unstable'] as const)(
    'answers every %s subscription at once',
    (ns) => {
      const g = start({ stdin: utf8.encode('12345'), maxOutputBytes: 100 }, ns);
      const [size, clockAt] = SUB[ns];
      const subs: [bigint, number, number][] = [
        [0x1122334455667788n, 0, 1], // monotonic clock
        [2n, 1, 0], // stdin readable
        [3n, 2, 1], // stdout writable
        [4n, 1, 1], // stdout is not readable
        [5n, 0, 2], // CPU-time clock
        [6n, 7, 0], // unknown event type
      ];
      const inAt = 8192;
      subs.forEach(([userdata, tag, arg], i) => {
        const at = inAt + i * size;
        g.view.setBigUint64(at, userdata, true);
        g.view.setUint8(at + 8, tag);
        g.view.setUint32(at + (tag === 0 ? clockAt : 16), arg, true);
      });
      g.write(1, '0123456789');
      g.bytes.fill(0xff, 4096, 4096 + 32 * subs.length);
      expect(g.call('poll_oneoff', inAt, 4096, subs.length, 512)).toBe(Errno.success);
      expect(g.view.getUint32(512, true)).toBe(subs.length);
      const events = subs.map((_, i) => {
        const at = 4096 + i * 32;
        return [
          g.view.getBigUint64(at, true),
          g.view.getUint16(at + 8, true),
          g.view.getUint8(at + 10),
          g.view.getBigUint64(at + 16, true),
          g.view.getUint16(at + 24, true),
        ];
      });
      expect(events).toEqual([
        [0x1122334455667788n, 0, 0, 0n, 0],
        [2n, 0, 1, 5n, 0],
        [3n, 0, 2, 90n, 0],
        [4n, Errno.badf, 1, 0n, 0],
        [5n, Errno.inval, 0, 0n, 0],
        [6n, Errno.inval, 7, 0n, 0],
      ]);
      expect([...g.bytes.subarray(4096 + 11, 4096 + 16)]).toEqual([0, 0, 0, 0, 0]);
    },
  );

  it('reports an empty stdin as hung up', () => {
    const g = start();
    g.view.setUint8(1024 + 8, 1);
    g.view.setUint32(1024 + 16, 0, true);
    expect(g.call('poll_oneoff', 1024, 4096, 1, 512)).toBe(Errno.success);
    expect([g.view.getBigUint64(4096 + 16, true), g.view.getUint16(4096 + 24, true)]).toEqual([
      0n,
      1,
    ]);
  });

  it('answers EINVAL for no subscriptions and EFAULT, untouched, for bad buffers', () => {
    const g = start();
    expect(g.call('poll_oneoff', 1024, 4096, 0, 512)).toBe(Errno.inval);
    g.bytes.fill(0xee, 4096, 4096 + 64);
    expect(g.call('poll_oneoff', 65536 - 48, 4096, 2, 512)).toBe(Errno.fault);
    expect(g.call('poll_oneoff', 1024, 65536 - 32, 2, 512)).toBe(Errno.fault);
    expect(g.call('poll_oneoff', 1024, 4096, 1, 65534)).toBe(Errno.fault);
    expect(g.bytes.subarray(4096, 4096 + 64).every((b) => b === 0xee)).toBe(true);
  });
});
