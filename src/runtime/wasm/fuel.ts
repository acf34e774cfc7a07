import { createHash } from 'node:crypto';
import { PalisadeError, errorMessage } from '../../shared/errors.js';
import { parseModule } from './binary.js';
import { setCustomSection } from './edit.js';
import { createWalker, staticsOf, type Binaryen, type ExpressionWalker } from './fuel-walk.js';

/**
 * Fuel metering: a deterministic, in-thread stop for runaway guests (wasm.md §3). The
 * module gets an exported mutable i64 global; charging a unit subtracts one and traps with
 * `unreachable` once the global is below zero. The host sets a budget before each call
 * and, after a trap, reads the global: below zero means "fuel exhausted".
 *
 * Where fuel is charged: at every loop header, and at the entry of functions that make
 * tail calls (`return_call*`), because a cycle of tail calls runs forever without a loop
 * and without growing the stack. Plain recursion needs no fuel: it ends in a stack
 * overflow. Charging every function entry as well (`functionEntries: true`) made a
 * call-heavy kernel (recursive fib) 60 % slower and adds no safety, so it is off by
 * default. Measured on Node 24 (V8 13.6): loops only cost 0-33 % on loop kernels and
 * stayed within noise (±10 %) on whole evaluations of the C, AssemblyScript and Go
 * fixture policies.
 *
 * Instrumenting is slow: binaryen.js is a 15 MB module that takes about a second to load
 * (loaded on first use only), then 0.1-0.3 s for a 30 KB policy and 2-5 s for a 3 MB Go
 * policy, and its heap keeps ~200 MB afterwards. Cache the output under
 * `fuelCacheKey(bytes)`, ideally on disk, and instrument in a worker or child process.
 * binaryen's own validation is skipped (it cost 15 % of the time): the output is compiled
 * by V8 instead, which is the check that matters.
 */

/** Name of the exported fuel global. */
export const FUEL_EXPORT = '__palisade_fuel';

/** Initial fuel: 2^62, enough for `_start`/`_initialize`/`wapc_init` to run before any budget is set. */
export const FUEL_INITIAL = 2n ** 62n;

/** Bumped whenever the instrumentation changes, so that cached outputs are not reused. */
export const FUEL_PASS_VERSION = 1;

export interface FuelOptions {
  /** Also charge one unit at every function entry (default false). */
  readonly functionEntries?: boolean;
}

/**
 * Features binaryen may read and write: what V8 in Node.js 24 runs without flags. Never
 * `Features.All`: binaryen 132 then writes compact imports (import kind 0x7e), which V8
 * rejects. `BulkMemoryOpt` is the memory.copy/fill half of bulk memory, a separate flag in
 * binaryen.
 */
function nodeFeatures(b: Binaryen): number {
  const f = b.Features;
  return (
    f.MutableGlobals |
    f.NontrappingFPToInt |
    f.SignExt |
    f.BulkMemory |
    f.BulkMemoryOpt |
    f.SIMD128 |
    f.RelaxedSIMD |
    f.Multivalue |
    f.ReferenceTypes |
    f.TailCall |
    f.ExceptionHandling |
    f.ExtendedConst |
    f.GC |
    f.Memory64 |
    f.MultiMemory |
    f.Atomics |
    f.CallIndirectOverlong
  );
}

let loaded: Promise<{ b: Binaryen; walker: ExpressionWalker }> | undefined;

function loadBinaryen(): Promise<{ b: Binaryen; walker: ExpressionWalker }> {
  loaded ??= import('binaryen')
    .then(({ default: b }) => ({ b, walker: createWalker(b) }))
    .catch((e: unknown) => {
      loaded = undefined;
      throw e;
    });
  return loaded;
}

/**
 * Returns a copy of `bytes` with fuel metering. Rejects (`module_invalid`) modules that
 * already export `__palisade_fuel` (a guest must not choose its own fuel counter), use an
 * instruction that cannot be walked, or do not validate in this Node.js after rewriting.
 * Custom sections of the input are all kept (binaryen drops some, they are copied back).
 */
export async function instrumentFuel(
  bytes: Uint8Array,
  options: FuelOptions = {},
): Promise<Uint8Array> {
  const info = parseModule(bytes);
  if (info.exports.some((e) => e.name === FUEL_EXPORT)) {
    throw new PalisadeError(
      'module_invalid',
      `module already exports "${FUEL_EXPORT}": instrument the original module, a guest cannot bring its own fuel counter`,
    );
  }
  const { b, walker } = await loadBinaryen();
  const hasDwarf = info.customSections.some((s) => s.name.startsWith('.debug_'));
  const emitted = rewrite(b, walker, bytes, { ...options, hasDwarf });
  let out = emitted;
  const kept = new Set(parseModule(emitted).customSections.map((s) => s.name));
  for (const section of info.customSections) {
    if (kept.has(section.name) || section.name.startsWith('.debug_')) continue;
    out = setCustomSection(out, section.name, section.bytes);
    kept.add(section.name);
  }
  checkRuns(out);
  return out;
}

type BinaryenModule = InstanceType<Binaryen['Module']>;

/**
 * The binaryen part, all synchronous so that the process-wide debug-info switch cannot
 * leak into another instrumentation. Debug info on makes binaryen write a correct name
 * section (function names in trap stack traces); it stays off for DWARF modules, whose
 * sections binaryen would try to rewrite (slow), and which are dropped as stale.
 */
function rewrite(
  b: Binaryen,
  walker: ExpressionWalker,
  bytes: Uint8Array,
  options: FuelOptions & { hasDwarf: boolean },
): Uint8Array {
  const read = b.readBinary as unknown as (data: Uint8Array, features: number) => BinaryenModule;
  let m: BinaryenModule;
  try {
    m = read(bytes, nodeFeatures(b));
  } catch (e) {
    throw new PalisadeError(
      'module_invalid',
      `binaryen cannot read the module: ${errorMessage(e)}`,
      {
        cause: e,
      },
    );
  }
  const debugInfo = b.getDebugInfo();
  try {
    const fuel = uniqueGlobalName(m);
    m.addGlobal(fuel, b.i64, true, m.i64.const(FUEL_INITIAL));
    m.addGlobalExport(fuel, FUEL_EXPORT);
    const charge = () =>
      m.block(null, [
        m.global.set(fuel, m.i64.sub(m.global.get(fuel, b.i64), m.i64.const(1n))),
        m.if(m.i64.lt_s(m.global.get(fuel, b.i64), m.i64.const(0n)), m.unreachable()),
      ]);
    const { Function: fn, Loop } = staticsOf(b);
    for (let i = 0; i < m.getNumFunctions(); i++) {
      const f = m.getFunctionByIndex(i);
      const body = fn.getBody(f);
      if (body === 0) continue;
      const { loops, tailCalls } = walker.walk(body, fn.getName(f));
      for (const loop of loops) {
        Loop.setBody(loop, m.block(null, [charge(), Loop.getBody(loop)], b.auto));
      }
      if (tailCalls || options.functionEntries === true) {
        fn.setBody(f, m.block(null, [charge(), body], b.auto));
      }
    }
    b.setDebugInfo(!options.hasDwarf);
    return m.emitBinary();
  } finally {
    b.setDebugInfo(debugInfo);
    m.dispose();
  }
}

function uniqueGlobalName(m: BinaryenModule): string {
  let name = FUEL_EXPORT;
  for (let i = 1; m.getGlobal(name) !== 0; i++) name = `${FUEL_EXPORT}_${i}`;
  return name;
}

/** binaryen accepts more than V8 does; compiling here turns a mismatch into a clear load error. */
function checkRuns(bytes: Uint8Array): void {
  if (WebAssembly.validate(bytes)) return;
  let reason = 'unknown reason';
  try {
    new WebAssembly.Module(bytes);
  } catch (e) {
    reason = errorMessage(e);
  }
  throw new PalisadeError(
    'module_invalid',
    `the module with fuel metering does not compile in Node.js ${process.versions.node}: ${reason}`,
  );
}

/**
 * Cache key of the instrumented output: the input's SHA-256, the pass version and the
 * options. Callers keep instrumented bytes under it (in memory or on disk) because
 * instrumenting is slow.
 */
export function fuelCacheKey(bytes: Uint8Array, options: FuelOptions = {}): string {
  const digest = createHash('sha256').update(bytes).digest('hex');
  return `sha256:${digest}:fuel-v${FUEL_PASS_VERSION}${options.functionEntries === true ? '+entries' : ''}`;
}

/** The fuel global of an instance, or undefined when its module was not instrumented. */
export function fuelGlobal(instance: WebAssembly.Instance): WebAssembly.Global | undefined {
  const g = instance.exports[FUEL_EXPORT];
  return g instanceof WebAssembly.Global ? g : undefined;
}

/** Sets the budget for the next call; throws when the instance has no fuel global. */
export function setFuel(instance: WebAssembly.Instance, budget: bigint): void {
  requireFuel(instance).value = budget;
}

/** Fuel left; negative after a call stopped for lack of fuel. */
export function readFuel(instance: WebAssembly.Instance): bigint {
  return requireFuel(instance).value as bigint;
}

/** True when the last trap was the fuel running out (as opposed to the guest's own trap). */
export function fuelExhausted(instance: WebAssembly.Instance): boolean {
  const g = fuelGlobal(instance);
  return g !== undefined && (g.value as bigint) < 0n;
}

function requireFuel(instance: WebAssembly.Instance): WebAssembly.Global {
  const g = fuelGlobal(instance);
  if (!g) {
    throw new PalisadeError('internal_error', `the instance has no ${FUEL_EXPORT} global`);
  }
  return g;
}
