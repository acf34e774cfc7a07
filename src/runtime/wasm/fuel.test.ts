import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { isPalisadeError } from '../../shared/errors.js';
import { parseModule } from './binary.js';
import { setCustomSection } from './edit.js';
import {
  FUEL_EXPORT,
  FUEL_INITIAL,
  fuelCacheKey,
  fuelExhausted,
  instrumentFuel,
  readFuel,
  setFuel,
} from './fuel.js';

const wabt = await wabtInit();

function wat(text: string): Uint8Array {
  const m = wabt.parseWat('test.wat', text, { tail_call: true });
  try {
    return m.toBinary({ write_debug_names: true }).buffer;
  } finally {
    m.destroy();
  }
}

const KERNELS = wat(`(module
  (memory (export "memory") 1)
  (func (export "spin") (loop $l (br $l)))
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $s))
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "loopValue") (result i32) (loop (result i32) (i32.const 7)))
  (func (export "fill") (param $n i32) (local $i i32)
    (loop $l
      (i32.store8 (local.get $i) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func (export "checksum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 31)) (i32.load8_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s))
  (func $ping (export "ping") (param $n i64) (result i64) (return_call $pong (local.get $n)))
  (func $pong (param $n i64) (result i64) (return_call $ping (i64.add (local.get $n) (i64.const 1))))
)`);

type Fn = (...args: number[]) => number;

function instance(bytes: Uint8Array): WebAssembly.Instance {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes));
}

describe('instrumentFuel', () => {
  it('stops an infinite loop with a trap and fuel below zero', async () => {
    const i = instance(await instrumentFuel(KERNELS));
    setFuel(i, 1_000_000n);
    expect(() => (i.exports.spin as Fn)()).toThrow(WebAssembly.RuntimeError);
    expect(readFuel(i)).toBeLessThan(0n);
    expect(fuelExhausted(i)).toBe(true);
  });

  it('stops a cycle of tail calls, which never grows the stack', async () => {
    const i = instance(await instrumentFuel(KERNELS));
    setFuel(i, 100_000n);
    expect(() => (i.exports.ping as (n: bigint) => bigint)(0n)).toThrow(/unreachable/);
    expect(fuelExhausted(i)).toBe(true);
  });

  it('computes the same results as the original module', async () => {
    const plain = instance(KERNELS).exports;
    const fueled = instance(await instrumentFuel(KERNELS)).exports;
    for (const e of [plain, fueled]) (e.fill as Fn)(1000);
    expect((fueled.sum as Fn)(1000)).toBe((plain.sum as Fn)(1000));
    expect((fueled.fib as Fn)(20)).toBe((plain.fib as Fn)(20));
    expect((fueled.loopValue as Fn)()).toBe(7);
    expect((fueled.checksum as Fn)(1000)).toBe((plain.checksum as Fn)(1000));
  });

  it('charges one unit per loop iteration and starts with 2^62', async () => {
    const i = instance(await instrumentFuel(KERNELS));
    expect(readFuel(i)).toBe(FUEL_INITIAL);
    setFuel(i, 1000n);
    (i.exports.sum as Fn)(10);
    expect(readFuel(i)).toBe(1000n - 11n);
    setFuel(i, 1000n);
    (i.exports.fib as Fn)(10);
    expect(readFuel(i)).toBe(1000n);
  });

  it('charges function entries too when asked', async () => {
    const i = instance(await instrumentFuel(KERNELS, { functionEntries: true }));
    setFuel(i, 1000n);
    (i.exports.fib as Fn)(10);
    expect(readFuel(i)).toBe(1000n - 177n);
  });

  it('lets the start function run before any budget is set', async () => {
    const bytes = wat(`(module
      (global $g (export "g") (mut i32) (i32.const 0))
      (func $start (local $i i32)
        (loop $l
          (global.set $g (i32.add (global.get $g) (i32.const 1)))
          (br_if $l (i32.lt_u (global.get $g) (i32.const 100000)))))
      (start $start))`);
    const i = instance(await instrumentFuel(bytes));
    expect((i.exports.g as WebAssembly.Global).value).toBe(100000);
  });

  it('keeps custom sections, the Kubewarden metadata above all', async () => {
    const metadata = new TextEncoder().encode('{"mutating":false}');
    const withMeta = setCustomSection(KERNELS, 'io.kubewarden.metadata', metadata);
    const out = await instrumentFuel(withMeta);
    const sections = WebAssembly.Module.customSections(
      new WebAssembly.Module(out),
      'io.kubewarden.metadata',
    );
    expect(sections.map((s) => new Uint8Array(s))).toEqual([metadata]);
    expect(parseModule(out).exports.map((e) => e.name)).toContain(FUEL_EXPORT);
  });

  it('rejects a module that brings its own fuel global', async () => {
    const bytes = wat(`(module (global (export "${FUEL_EXPORT}") (mut i64) (i64.const 9)))`);
    await expect(instrumentFuel(bytes)).rejects.toSatisfy(
      (e) => isPalisadeError(e, 'module_invalid') && /own fuel counter/.test(e.message),
    );
  });

  it('rejects bytes that are not a module before loading binaryen', async () => {
    await expect(instrumentFuel(new Uint8Array([1, 2, 3]))).rejects.toSatisfy((e) =>
      isPalisadeError(e, 'module_invalid'),
    );
  });

  it('keys the cache by content, pass version and options', () => {
    const key = fuelCacheKey(KERNELS);
    expect(key).toMatch(/^sha256:[0-9a-f]{64}:fuel-v\d+$/);
    expect(fuelCacheKey(KERNELS, { functionEntries: true })).not.toBe(key);
    expect(fuelCacheKey(wat('(module)'))).not.toBe(key);
  });
});
