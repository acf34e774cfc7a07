import { performance } from 'node:perf_hooks';
import { loadEnvironment, readPolicySources, type ModuleLoader } from '../engine/index.js';
import { parseAdmissionRequest } from '../shared/admission-parse.js';
import type { Logger } from '../shared/logger.js';
import { definitionForModule, isModuleReference } from './module-policy.js';
import { readJsonFile } from './read.js';
import { selectPolicy, withSettings } from './select.js';
import type { JsonValue } from '../shared/admission.js';

export interface BenchOptions {
  readonly policy: string;
  readonly policyId?: string;
  readonly request: string;
  readonly settings?: JsonValue;
  readonly executionMode?: string;
  readonly iterations: number;
  readonly warmup: number;
  readonly modules?: ModuleLoader;
}

export interface BenchResult {
  readonly policyId: string;
  readonly iterations: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly minUs: number;
  readonly maxUs: number;
  readonly allowed: boolean;
}

/**
 * `palisade bench`: the latency of one policy on one request through the same engine the
 * server uses (sandbox hop included), after a warm-up, as kwctl bench reports it.
 */
export async function benchCommand(options: BenchOptions, logger: Logger): Promise<BenchResult> {
  let def = isModuleReference(options.policy)
    ? await definitionForModule(options.policy, options)
    : selectPolicy(await readPolicySources(options.policy), options.policyId, options.policy);
  if (options.settings !== undefined) def = withSettings(def, options.settings);
  const request = parseAdmissionRequest(await readJsonFile(options.request), options.request);
  const env = await loadEnvironment([def], {
    logger,
    ...(options.modules ? { modules: options.modules } : {}),
  });
  try {
    let allowed = false;
    for (let i = 0; i < options.warmup; i++) await env.evaluate(def.id, request, 'validate');
    const samples = new Float64Array(options.iterations);
    for (let i = 0; i < options.iterations; i++) {
      const start = performance.now();
      const response = await env.evaluate(def.id, request, 'validate');
      samples[i] = (performance.now() - start) * 1000;
      allowed = response.allowed;
    }
    samples.sort();
    const at = (q: number): number =>
      samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
    const mean = samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length);
    return {
      policyId: def.id,
      iterations: options.iterations,
      meanUs: mean,
      p50Us: at(0.5),
      p99Us: at(0.99),
      minUs: samples[0] ?? 0,
      maxUs: samples[samples.length - 1] ?? 0,
      allowed,
    };
  } finally {
    env.close();
  }
}

export function formatBench(r: BenchResult): string {
  const us = (v: number): string => `${v.toFixed(1)} µs`;
  return [
    `policy ${r.policyId}: ${String(r.iterations)} evaluations (answer: ${r.allowed ? 'allowed' : 'rejected'})`,
    `  mean ${us(r.meanUs)}  p50 ${us(r.p50Us)}  p99 ${us(r.p99Us)}  min ${us(r.minUs)}  max ${us(r.maxUs)}`,
    '',
  ].join('\n');
}
