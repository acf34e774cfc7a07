// In-process cost of one evaluation of the replica policy through the engine API, on an
// already-parsed request (no HTTP, no JSON.parse). Prints one JSON line.
// Usage: node eval.js <policies.yml>
import { loadEnvironment, readPolicySources } from '../../dist/engine/index.js';
import { createPolicyServerMetrics } from '../../dist/policy-server/index.js';
import { silentLogger } from '../../dist/shared/logger.js';
import { deploymentReview } from './fixture.js';

const [policies] = process.argv.slice(2);
const definitions = await readPolicySources(policies);
const bare = await loadEnvironment(definitions, { logger: silentLogger() });
const metrics = createPolicyServerMetrics();
const observed = await loadEnvironment(definitions, {
  logger: silentLogger(),
  observer: metrics.observer,
});
const request = deploymentReview(3).request;
const rejected = deploymentReview(6).request;

/** Median µs per call over 9 batches of ~200 ms, after ~1 s of warm-up. */
async function measure(env, req, policy = 'replicas') {
  const once = () => env.evaluate(policy, req, 'validate');
  let n = 1000;
  for (let spent = 0; spent < 1000;) {
    const t = performance.now();
    for (let i = 0; i < n; i++) await once();
    spent += performance.now() - t;
  }
  // Calibrate a batch to ~200 ms.
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await once();
  n = Math.max(1000, Math.round((n * 200) / (performance.now() - t0)));
  const samples = [];
  for (let rep = 0; rep < 9; rep++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) await once();
    samples.push(((performance.now() - t) * 1000) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[4];
}

const check = await bare.evaluate('replicas', rejected, 'validate');
if (check.allowed !== false) throw new Error('the replica policy did not reject 6 replicas');
console.log(
  JSON.stringify({
    allowedUs: await measure(bare, request),
    rejectedUs: await measure(bare, rejected),
    allowedWithMetricsUs: await measure(observed, request),
    constantUs: await measure(bare, request, 'constant'),
  }),
);
