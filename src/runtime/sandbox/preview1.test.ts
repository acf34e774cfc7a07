import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { Errno, PREVIEW1_FUNCTIONS, type Preview1Function } from './preview1-abi.js';
import { Preview1, ProcExit } from './preview1.js';

const wabt = await wabtInit();
const utf8 = new TextEncoder();
const text = new TextDecoder();

function compile(wat: string): WebAssembly.Module {
  const parsed = wabt.parseWat('test.wat', wat, { threads: true });
  try {
    return new WebAssembly.Module(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

/** Parameter types of every preview1 function (all return an errno but proc_exit). */
const SIGNATURES: Record<Preview1Function, string> = {
  args_get: 'i32 i32',
  args_sizes_get: 'i32 i32',
  environ_get: 'i32 i32',
  environ_sizes_get: 'i32 i32',
  clock_res_get: 'i32 i32',
  clock_time_get: 'i32 i64 i32',
  fd_advise: 'i32 i64 i64 i32',
  fd_allocate: 'i32 i64 i64',
  fd_close: 'i32',
  fd_datasync: 'i32',
  fd_fdstat_get: 'i32 i32',
  fd_fdstat_set_flags: 'i32 i32',
  fd_fdstat_set_rights: 'i32 i64 i64',
  fd_filestat_get: 'i32 i32',
  fd_filestat_set_size: 'i32 i64',
  fd_filestat_set_times: 'i32 i64 i64 i32',
  fd_pread: 'i32 i32 i32 i64 i32',
  fd_prestat_get: 'i32 i32',
  fd_prestat_dir_name: 'i32 i32 i32',
  fd_pwrite: 'i32 i32 i32 i64 i32',
  fd_read: 'i32 i32 i32 i32',
  fd_readdir: 'i32 i32 i32 i64 i32',
  fd_renumber: 'i32 i32',
  fd_seek: 'i32 i64 i32 i32',
  fd_sync: 'i32',
  fd_tell: 'i32 i32',
  fd_write: 'i32 i32 i32 i32',
  path_create_directory: 'i32 i32 i32',
  path_filestat_get: 'i32 i32 i32 i32 i32',
  path_filestat_set_times: 'i32 i32 i32 i32 i64 i64 i32',
  path_link: 'i32 i32 i32 i32 i32 i32 i32',
  path_open: 'i32 i32 i32 i32 i32 i64 i64 i32 i32',
  path_readlink: 'i32 i32 i32 i32 i32 i32',
  path_remove_directory: 'i32 i32 i32',
  path_rename: 'i32 i32 i32 i32 i32 i32',
  path_symlink: 'i32 i32 i32 i32 i32',
  path_unlink_file: 'i32 i32 i32',
  poll_oneoff: 'i32 i32 i32 i32',
  proc_exit: 'i32',
  proc_raise: 'i32',
  sched_yield: '',
  random_get: 'i32 i32',
  sock_accept: 'i32 i32 i32',
  sock_recv: 'i32 i32 i32 i32 i32 i32',
  sock_send: 'i32 i32 i32 i32 i32',
  sock_shutdown: 'i32 i32',
};

const NAMESPACES = ['wasi_snapshot_preview1', 'wasi_unstable'] as const;
type Namespace = (typeof NAMESPACES)[number];

/** A module importing every function of `ns` with its exact type and exporting a caller for each. */
function callerWat(ns: Namespace, memory = '(memory (export "memory") 1 4)'): string {
  const names = PREVIEW1_FUNCTIONS.filter(
    (n) => ns === 'wasi_snapshot_preview1' || n !== 'sock_accept',
  );
  const imports: string[] = [];
  const callers: string[] = [];
  for (const name of names) {
    const params = SIGNATURES[name];
    const result = name === 'proc_exit' ? '' : '(result i32)';
    const gets =
      params === ''
        ? ''
        : params
            .split(' ')
            .map((_, i) => `local.get ${i}`)
            .join(' ');
    const param = params === '' ? '' : `(param ${params})`;
    imports.push(`(import "${ns}" "${name}" (func $${name} ${param} ${result}))`);
    callers.push(`(func (export "${name}") ${param} ${result} ${gets} call $${name})`);
  }
  return `(module ${imports.join('\n')} ${callers.join('\n')}
    ${memory}
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))`;
}

const modules = new Map<string, WebAssembly.Module>();

interface Harness {
  readonly wasi: Preview1;
  call(name: Preview1Function, ...args: (number | bigint)[]): number;
  bytes(): Uint8Array;
  view(): DataView;
  grow(pages: number): number;
}

function harness(
  wasi: Preview1,
  ns: Namespace = 'wasi_snapshot_preview1',
  shared = false,
): Harness {
  const key = `${ns}/${shared}`;
  let module = modules.get(key);
  if (module === undefined) {
    module = compile(callerWat(ns, shared ? '(memory (export "memory") 1 4 shared)' : undefined));
    modules.set(key, module);
  }
  const instance = new WebAssembly.Instance(module, wasi.imports());
  const memory = instance.exports['memory'] as WebAssembly.Memory;
  wasi.bind(memory);
  const fn = (name: string) => instance.exports[name] as (...a: unknown[]) => number;
  return {
    wasi,
    call: (name, ...args) => fn(name)(...args),
    bytes: () => new Uint8Array(memory.buffer),
    view: () => new DataView(memory.buffer),
    grow: (pages) => fn('grow')(pages),
  };
}

const run = (options: Partial<ConstructorParameters<typeof Preview1>[0]> = {}): Harness =>
  harness(new Preview1({ args: [], ...options }));

describe('Preview1 imports', () => {
  it.each(NAMESPACES)('links every preview1 function under %s', (ns) => {
    expect(() => harness(new Preview1({ args: [] }), ns)).not.toThrow();
  });

  it('answers ENOSYS for what it does not implement', () => {
    const h = run();
    expect(h.call('fd_advise', 1, 0n, 0n, 0)).toBe(Errno.nosys);
    expect(h.call('fd_allocate', 1, 0n, 0n)).toBe(Errno.nosys);
    expect(h.call('fd_datasync', 1)).toBe(Errno.nosys);
    expect(h.call('fd_sync', 1)).toBe(Errno.nosys);
    expect(h.call('fd_fdstat_set_rights', 1, 0n, 0n)).toBe(Errno.nosys);
    expect(h.call('fd_filestat_set_size', 1, 0n)).toBe(Errno.nosys);
    expect(h.call('fd_filestat_set_times', 1, 0n, 0n, 0)).toBe(Errno.nosys);
    expect(h.call('fd_pread', 0, 0, 0, 0n, 0)).toBe(Errno.nosys);
    expect(h.call('fd_pwrite', 1, 0, 0, 0n, 0)).toBe(Errno.nosys);
    expect(h.call('fd_readdir', 0, 0, 0, 0n, 0)).toBe(Errno.nosys);
    expect(h.call('fd_renumber', 1, 2)).toBe(Errno.nosys);
  });

  it('refuses a function that is not part of preview1', () => {
    const wat = `(module (import "wasi_snapshot_preview1" "sock_open" (func (param i32) (result i32))))`;
    expect(
      () => new WebAssembly.Instance(compile(wat), new Preview1({ args: [] }).imports()),
    ).toThrow(WebAssembly.LinkError);
  });

  it('builds the import object once, with own namespaces a caller can spread', () => {
    const wasi = new Preview1({ args: [] });
    const imports = wasi.imports();
    expect(wasi.imports()).toBe(imports);
    expect(Object.keys({ ...imports, host: {} })).toEqual([...NAMESPACES, 'host']);
  });

  it('fails loudly when the host forgot bind()', () => {
    const wasi = new Preview1({ args: ['x'] });
    const instance = new WebAssembly.Instance(
      compile(callerWat('wasi_snapshot_preview1')),
      wasi.imports(),
    );
    const call = instance.exports['args_sizes_get'] as (a: number, b: number) => number;
    expect(() => call(0, 4)).toThrow(expect.objectContaining({ code: 'internal_error' }));
  });
});

describe('args and environ', () => {
  it('passes argv as NUL-terminated UTF-8 strings', () => {
    const h = run({ args: ['policy.wasm', 'validate-settings', 'é'] });
    expect(h.call('args_sizes_get', 0, 4)).toBe(Errno.success);
    const size = 'policy.wasm\0validate-settings\0é\0'.length + 1;
    expect([h.view().getUint32(0, true), h.view().getUint32(4, true)]).toEqual([3, size]);
    expect(h.call('args_get', 100, 200)).toBe(Errno.success);
    const pointers = [0, 1, 2].map((i) => h.view().getUint32(100 + i * 4, true));
    expect(pointers).toEqual([200, 212, 230]);
    expect(text.decode(h.bytes().subarray(200, 200 + size))).toBe(
      'policy.wasm\0validate-settings\0é\0',
    );
  });

  it('has no arguments when given none, and no environment at all', () => {
    const h = run();
    h.view().setUint32(0, 99, true);
    expect(h.call('args_sizes_get', 0, 4)).toBe(Errno.success);
    expect(h.call('environ_sizes_get', 8, 12)).toBe(Errno.success);
    expect([0, 4, 8, 12].map((at) => h.view().getUint32(at, true))).toEqual([0, 0, 0, 0]);
    expect(h.call('environ_get', 16, 32)).toBe(Errno.success);
  });

  it('answers EFAULT for pointers outside memory', () => {
    const h = run({ args: ['a'] });
    expect(h.call('args_sizes_get', 65534, 0)).toBe(Errno.fault);
    expect(h.call('args_get', 0, 65535)).toBe(Errno.fault);
    expect(h.call('args_get', -4, 0)).toBe(Errno.fault);
    expect(h.call('environ_sizes_get', 0, 70000)).toBe(Errno.fault);
  });

  it('rejects an argument with a NUL in it', () => {
    expect(() => new Preview1({ args: ['a\0b'] })).toThrow(/NUL/);
  });
});

describe('clocks and randomness', () => {
  it('reads realtime in ns and a monotonic clock that never goes back', () => {
    const h = run();
    const before = BigInt(Date.now()) * 1_000_000n;
    expect(h.call('clock_time_get', 0, 1n, 8)).toBe(Errno.success);
    const realtime = h.view().getBigUint64(8, true);
    expect(realtime >= before && realtime <= BigInt(Date.now()) * 1_000_000n).toBe(true);
    expect(h.call('clock_time_get', 1, 0n, 16)).toBe(Errno.success);
    expect(h.call('clock_time_get', 1, 0n, 24)).toBe(Errno.success);
    expect(h.view().getBigUint64(24, true) >= h.view().getBigUint64(16, true)).toBe(true);
  });

  it('reports resolutions, and EINVAL for CPU-time and unknown clocks', () => {
    const h = run();
    expect(h.call('clock_res_get', 0, 8)).toBe(Errno.success);
    expect(h.view().getBigUint64(8, true)).toBe(1_000_000n);
    expect(h.call('clock_res_get', 1, 8)).toBe(Errno.success);
    expect(h.view().getBigUint64(8, true)).toBe(1n);
    for (const id of [2, 3, 4, -1]) {
      expect(h.call('clock_res_get', id, 8)).toBe(Errno.inval);
      expect(h.call('clock_time_get', id, 0n, 8)).toBe(Errno.inval);
    }
    expect(h.call('clock_time_get', 0, 0n, 65530)).toBe(Errno.fault);
  });

  it('fills buffers larger than one Web Crypto call', () => {
    const h = run();
    h.grow(2);
    const length = 3 * 65536 - 16;
    expect(h.call('random_get', 8, length)).toBe(Errno.success);
    const filled = h.bytes().subarray(8, 8 + length);
    const tail = filled.subarray(length - 4096);
    expect(tail.some((b) => b !== 0)).toBe(true);
    expect(filled.subarray(65536, 65536 + 4096).some((b) => b !== 0)).toBe(true);
    expect(h.call('random_get', 0, 0)).toBe(Errno.success);
    expect(h.call('random_get', 3 * 65536 - 4, 8)).toBe(Errno.fault);
  });

  it('fills shared memory too', () => {
    const h = harness(new Preview1({ args: [] }), 'wasi_snapshot_preview1', true);
    expect(h.bytes().buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(h.grow(1)).toBe(1);
    expect(h.call('random_get', 16, 70000)).toBe(Errno.success);
    expect(
      h
        .bytes()
        .subarray(66000, 70016)
        .some((b) => b !== 0),
    ).toBe(true);
  });
});

describe('processes and stubs', () => {
  it('ends the run with ProcExit, carrying the unsigned exit code', () => {
    const h = run();
    expect(() => h.call('proc_exit', 3)).toThrow(expect.objectContaining({ code: 3 }));
    const e = (() => {
      try {
        h.call('proc_exit', -1);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(ProcExit);
    expect(e).toMatchObject({ code: 4294967295, signal: undefined, name: 'ProcExit' });
  });

  it('terminates on a fatal proc_raise and ignores the ignorable signals', () => {
    const h = run();
    expect(() => h.call('proc_raise', 15)).toThrow(
      expect.objectContaining({ code: 143, signal: 15 }),
    );
    for (const ignored of [13, 16, 17, 18, 22, 27]) expect(h.call('proc_raise', ignored)).toBe(0);
    expect(h.call('proc_raise', 0)).toBe(Errno.inval);
    expect(h.call('proc_raise', 31)).toBe(Errno.inval);
  });

  it('has no directories: path calls answer ENOTCAPABLE on stdio and EBADF elsewhere', () => {
    const h = run();
    expect(h.call('path_open', 3, 0, 0, 1, 0, 0n, 0n, 0, 0)).toBe(Errno.badf);
    expect(h.call('path_open', 0, 0, 0, 1, 0, 0n, 0n, 0, 0)).toBe(Errno.notcapable);
    expect(h.call('path_create_directory', 1, 0, 1)).toBe(Errno.notcapable);
    expect(h.call('path_filestat_get', 4, 0, 0, 1, 0)).toBe(Errno.badf);
    expect(h.call('path_filestat_set_times', 2, 0, 0, 1, 0n, 0n, 0)).toBe(Errno.notcapable);
    expect(h.call('path_link', 5, 0, 0, 1, 5, 0, 1)).toBe(Errno.badf);
    expect(h.call('path_readlink', 0, 0, 1, 0, 0, 0)).toBe(Errno.notcapable);
    expect(h.call('path_remove_directory', 9, 0, 1)).toBe(Errno.badf);
    expect(h.call('path_rename', 9, 0, 1, 9, 0, 1)).toBe(Errno.badf);
    expect(h.call('path_symlink', 0, 1, 0)).toBe(Errno.notcapable);
    expect(h.call('path_symlink', 0, 1, 7, 0, 1)).toBe(Errno.badf);
    expect(h.call('path_unlink_file', 3, 0, 1)).toBe(Errno.badf);
    expect(h.call('fd_prestat_get', 3, 0)).toBe(Errno.badf);
    expect(h.call('fd_prestat_get', 0, 0)).toBe(Errno.badf);
    expect(h.call('fd_prestat_dir_name', 3, 0, 10)).toBe(Errno.badf);
  });

  it('has no sockets, and yields at once', () => {
    const h = run();
    expect(h.call('sock_accept', 3, 0, 0)).toBe(Errno.notsup);
    expect(h.call('sock_recv', 3, 0, 0, 0, 0, 0)).toBe(Errno.notsup);
    expect(h.call('sock_send', 3, 0, 0, 0, 0)).toBe(Errno.notsup);
    expect(h.call('sock_shutdown', 3, 0)).toBe(Errno.notsup);
    expect(h.call('sched_yield')).toBe(Errno.success);
  });
});

describe('memory growth', () => {
  it('sees pages the guest added after an earlier host call', () => {
    const h = run({ args: ['grown'] });
    expect(h.call('args_sizes_get', 0, 4)).toBe(Errno.success);
    expect(h.call('args_get', 65536 + 8, 65536 + 16)).toBe(Errno.fault);
    expect(h.grow(1)).toBe(1);
    expect(h.call('args_get', 65536 + 8, 65536 + 16)).toBe(Errno.success);
    expect(text.decode(h.bytes().subarray(65536 + 16, 65536 + 22))).toBe('grown\0');
  });
});

describe('a WASI command', () => {
  /** `_start`: prints argv[1], then copies stdin to stdout, then exits with status 7. */
  const command = compile(`(module
    (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start") (local $n i32)
      (drop (call $args_get (i32.const 0) (i32.const 64)))
      ;; iovec @16 = { argv[1], 8 bytes }, wrote "validate"
      (i32.store (i32.const 16) (i32.load (i32.const 4)))
      (i32.store (i32.const 20) (i32.const 8))
      (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
      (block $eof (loop $copy
        (i32.store (i32.const 16) (i32.const 1024))
        (i32.store (i32.const 20) (i32.const 3))
        (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
        (local.set $n (i32.load (i32.const 24)))
        (br_if $eof (i32.eqz (local.get $n)))
        (i32.store (i32.const 20) (local.get $n))
        (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
        (br $copy)))
      (call $proc_exit (i32.const 7))))`);

  it('runs with argv and stdin in, stdout and the exit code out', () => {
    const wasi = new Preview1({ args: ['policy.wasm', 'validate'], stdin: utf8.encode('{"a":1}') });
    const instance = new WebAssembly.Instance(command, wasi.imports());
    wasi.bind(instance.exports['memory'] as WebAssembly.Memory);
    const start = instance.exports['_start'] as () => void;
    expect(start).toThrow(ProcExit);
    expect(text.decode(wasi.stdout)).toBe('validate{"a":1}');
    expect(wasi.stderr).toHaveLength(0);
  });
});
