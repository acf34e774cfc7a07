// `npm run bench:wasm` (after `npm run build`; builds the C and Go fixtures if needed):
// for each fixture, the guest's validate called in this thread with no sandbox (warm instance,
// and fresh instance per call) against a full Palisade evaluation through the engine and the
// sandbox worker pool; then resident memory per loaded waPC policy. Prints absolute µs and
// ratios measured in the same run. Options: --iterations N (default 3000).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEnvironment } from '../../dist/engine/index.js';
import { createHostCapabilities } from '../../dist/runtime/capabilities/index.js';
import { createModuleLoader } from '../../dist/runtime/loader.js';
import { WasmRuntime } from '../../dist/runtime/runtime.js';
import { createGuest as wapcGuest } from '../../dist/runtime/kubewarden-wapc/guest.js';
import { createGuest as wasiGuest } from '../../dist/runtime/wasi/guest.js';
import { silentLogger } from '../../dist/shared/logger.js';
import { distinctCopy } from './copies.js';
import { podRequest } from './request.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = join(ROOT, 'test', 'fixtures', 'wasm', 'build');
const { values: args } = parseArgs({
  options: { iterations: { type: 'string', default: '3000' } },
});
const N = Number(args.iterations);

execFileSync('bash', [join(ROOT, 'scripts', 'fixtures.sh'), 'c', 'go'], { stdio: 'inherit' });

const logger = silentLogger();
const request = podRequest();
const settings = { denied_names: ['forbidden'] };
const payload = new TextEncoder().encode(JSON.stringify({ request, settings }));
const noHost = { call: () => ({ ok: false, error: 'no host here' }), log: () => undefined };

/** Median of `fn`'s duration in µs over n runs, after n/10 warm-up runs. */
async function median(n, fn) {
  for (let i = 0; i < Math.max(10, n / 10); i++) await fn();
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples[i] = (performance.now() - t) * 1000;
  }
  samples.sort();
  return samples[Math.floor(n / 2)];
}

/** A guest kept across calls: what a host without per-call isolation would pay. */
function warmWapc(module) {
  const instance = new WebAssembly.Instance(module, rawWapcImports());
  for (const f of ['_initialize', 'wapc_init']) instance.exports[f]?.();
  return instance;
}

let state;
function rawWapcImports() {
  state = { op: new Uint8Array(), payload: new Uint8Array(), memory: undefined };
  const mem = () => new Uint8Array(state.memory.buffer);
  return {
    wapc: {
      __guest_request: (o, p) => {
        mem().set(state.op, o);
        mem().set(state.payload, p);
      },
      __guest_response: () => undefined,
      __guest_error: () => undefined,
      __host_call: () => 0,
      __host_response_len: () => 0,
      __host_response: () => undefined,
      __host_error_len: () => 0,
      __host_error: () => undefined,
      __console_log: () => undefined,
    },
    env: { abort: () => undefined },
  };
}

async function fullEvaluation(file, runtime) {
  const def = {
    id: file,
    name: file,
    source: BUILD + '/',
    mode: 'protect',
    body: {
      type: 'policy',
      module: `file://${join(BUILD, file)}`,
      settings,
      settingsPath: 'settings',
      allowedToMutate: false,
    },
  };
  const env = await loadEnvironment([def], { logger, modules: createModuleLoader(runtime) });
  const error = env.loadErrors().get(file);
  if (error) throw new Error(error);
  const answer = await env.evaluate(file, request, 'validate');
  if (!answer.allowed)
    throw new Error(`${file} rejected the bench request: ${answer.status?.message}`);
  return { env, evaluate: () => env.evaluate(file, request, 'validate') };
}

const capabilities = createHostCapabilities({ logger });
const runtime = new WasmRuntime({ logger, capabilities, workers: 1 });
const rows = [];

// C, waPC
{
  const bytes = readFileSync(join(BUILD, 'c-wapc.wasm'));
  const module = new WebAssembly.Module(bytes);
  const spec = { mode: 'kubewarden-wapc', module, maxMemoryPages: 4096, settings, fueled: false };
  const instance = warmWapc(module);
  state.memory = instance.exports.memory;
  state.op = new TextEncoder().encode('validate');
  state.payload = payload;
  const rawWarm = await median(N, () => instance.exports.__guest_call(8, payload.length));
  const guest = wapcGuest(spec);
  const rawFresh = await median(N, () => guest.call('validate', payload, noHost));
  const full = await fullEvaluation('c-wapc.wasm', runtime);
  const sandboxed = await median(N, full.evaluate);
  full.env.close();
  rows.push({ fixture: 'C waPC (c-wapc.wasm)', rawWarm, rawFresh, sandboxed });
}

// Go, WASI (every call is a fresh instance by the mode's nature)
{
  const bytes = readFileSync(join(BUILD, 'go-wasi.wasm'));
  const module = new WebAssembly.Module(bytes);
  const guest = wasiGuest({ mode: 'wasi', module, maxMemoryPages: 4096, settings, fueled: false });
  const n = Math.max(200, Math.floor(N / 10));
  const rawFresh = await median(n, () => guest.call('validate', payload, noHost));
  const full = await fullEvaluation('go-wasi.wasm', runtime);
  const sandboxed = await median(n, full.evaluate);
  full.env.close();
  rows.push({
    fixture: 'Go WASI (go-wasi.wasm, Kubewarden Go SDK)',
    rawWarm: undefined,
    rawFresh,
    sandboxed,
  });
}

const us = (v) => (v === undefined ? '     -' : v.toFixed(1).padStart(8));
console.log(`\nper-evaluation medians, 4 KB Pod request, ${N} iterations (Go: fewer)`);
console.log(
  'fixture                                       raw warm   raw fresh  Palisade   overhead  ratio',
);
for (const r of rows) {
  const overhead = r.sandboxed - r.rawFresh;
  console.log(
    `${r.fixture.padEnd(44)} ${us(r.rawWarm)} µs ${us(r.rawFresh)} µs ${us(r.sandboxed)} µs ${us(overhead)} µs  ${(r.sandboxed / r.rawFresh).toFixed(2)}x`,
  );
}
const c = rows[0];
console.log(
  `target: sandbox overhead <= 100 µs over the raw call: ${c.sandboxed - c.rawFresh <= 100 ? 'met' : 'NOT met'} (C: ${(c.sandboxed - c.rawFresh).toFixed(1)} µs)`,
);
console.log(
  `target: fresh waPC instance + validate <= 500 µs (C): ${c.rawFresh <= 500 ? 'met' : 'NOT met'} (${c.rawFresh.toFixed(1)} µs)`,
);

// Resident memory per loaded waPC policy: distinct modules, fuel added here (filling a disk
// cache), then loaded in a fresh process that never held binaryen (bench/wasm/memory.js).
{
  const count = 40;
  const cacheDir = mkdtempSync(join(tmpdir(), 'palisade-bench-modules-'));
  const warm = new WasmRuntime({ logger, capabilities, workers: 1, cacheDir });
  const base = readFileSync(join(BUILD, 'c-wapc.wasm'));
  for (let i = -1; i < count; i++) {
    const p = await warm.load({
      policyId: `copy-${i}`,
      bytes: distinctCopy(base, i),
      where: `copy ${i}`,
      settings,
      grant: { policyId: `copy-${i}`, contextAwareResources: [], hostCapabilities: [] },
      timeoutMs: 2000,
    });
    p.close();
  }
  await warm.close();
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', join(ROOT, 'bench', 'wasm', 'memory.js'), cacheDir, String(count)],
    { encoding: 'utf8' },
  );
  rmSync(cacheDir, { recursive: true, force: true });
  const { perPolicyKiB } = JSON.parse(out);
  console.log(
    `resident memory per loaded waPC policy (${count} distinct C modules, 1 sandbox worker, fresh process): ${perPolicyKiB.toFixed(0)} KiB; target <= 2048 KiB: ${perPolicyKiB <= 2048 ? 'met' : 'NOT met'}`,
  );
}

// A runaway guest: how long after its deadline the sandbox stops it (fuel, or the wall clock
// that replaces the worker), and how soon the same worker slot serves a good policy again.
{
  const loop = await runtime.load({
    policyId: 'runaway',
    bytes: readFileSync(join(BUILD, 'hostile-loop.wasm')),
    where: 'hostile-loop.wasm',
    settings: {},
    grant: { policyId: 'runaway', contextAwareResources: [], hostCapabilities: [] },
    timeoutMs: 1000,
  });
  const good = await runtime.load({
    policyId: 'good',
    bytes: readFileSync(join(BUILD, 'c-wapc.wasm')),
    where: 'c-wapc.wasm',
    settings,
    grant: { policyId: 'good', contextAwareResources: [], hostCapabilities: [] },
    timeoutMs: 1000,
  });
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const reason = await Promise.resolve(
      loop.validate({ request, context: {}, timeoutMs: 1000 }),
    ).then(
      () => 'not stopped',
      (e) => e.message.replace(/.*\((.*)\)$/, '$1'),
    );
    const stopped = performance.now() - t;
    const t2 = performance.now();
    await good.validate({ request, context: {}, timeoutMs: 1000 });
    const next = performance.now() - t2;
    console.log(
      `runaway guest, 1000 ms deadline: stopped after ${stopped.toFixed(0)} ms (+${((stopped / 1000 - 1) * 100).toFixed(1)} %, ${reason}); next evaluation ${next.toFixed(1)} ms; target <= +10 %: ${stopped <= 1100 ? 'met' : 'NOT met'}`,
    );
  }
  loop.close();
  good.close();
}
await runtime.close();
