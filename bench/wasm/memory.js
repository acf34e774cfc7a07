// Child process of bench/wasm/run.js: resident memory per loaded waPC policy, measured in a
// process that never loaded binaryen (the fuel-instrumented modules come from the disk cache
// the parent filled), so the figure is what a policy server carries per policy.
// Usage: node --expose-gc bench/wasm/memory.js <cacheDir> <count>
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WasmRuntime } from '../../dist/runtime/runtime.js';
import { silentLogger } from '../../dist/shared/logger.js';
import { distinctCopy } from './copies.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [cacheDir, countText] = process.argv.slice(2);
const count = Number(countText);
const base = readFileSync(join(ROOT, 'test', 'fixtures', 'wasm', 'build', 'c-wapc.wasm'));
const capabilities = { call: () => Promise.resolve({ ok: false, error: 'none' }) };
const runtime = new WasmRuntime({ logger: silentLogger(), capabilities, workers: 1, cacheDir });
const load = (i) =>
  runtime.load({
    policyId: `copy-${i}`,
    bytes: distinctCopy(base, i),
    where: `copy ${i}`,
    settings: { denied_names: ['forbidden'] },
    grant: { policyId: `copy-${i}`, contextAwareResources: [], hostCapabilities: [] },
    timeoutMs: 2000,
  });
// One policy first, so the pool, the worker and the compile pipeline are in the baseline.
const first = await load(-1);
globalThis.gc?.();
const before = process.memoryUsage().rss;
const policies = [];
for (let i = 0; i < count; i++) policies.push(await load(i));
globalThis.gc?.();
const perPolicy = (process.memoryUsage().rss - before) / count / 1024;
process.stdout.write(JSON.stringify({ count, perPolicyKiB: perPolicy }));
for (const p of [first, ...policies]) p.close();
await runtime.close();
