import {
  Counter,
  Registry,
  type Metric,
  type MetricObjectWithValues,
  type MetricValueWithName,
} from 'prom-client';
import type { EvaluationObserver, EvaluationRecord } from '../engine/types.js';

export const EVALUATIONS_TOTAL = 'palisade_policy_evaluations_total';
export const EVALUATION_LATENCY = 'palisade_policy_evaluation_latency_milliseconds';

/** Kubewarden's label set, so its Grafana dashboard works after renaming the prefix. */
export const EVALUATION_LABELS = [
  'policy_name',
  'policy_mode',
  'resource_kind',
  'resource_namespace',
  'resource_request_operation',
  'accepted',
  'mutated',
  'request_origin',
  'error_code',
] as const;

export type EvaluationLabel = (typeof EVALUATION_LABELS)[number];
export type EvaluationLabels = Readonly<Record<EvaluationLabel, string>>;

/**
 * Milliseconds. An in-process CEL evaluation takes microseconds and a slow policy seconds
 * (timeout 2 s), so the buckets start at 10 µs; OpenTelemetry's defaults (Kubewarden) start
 * at 5 ms and would put every evaluation in the first bucket.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000,
]);

export interface PolicyServerMetrics {
  /** Our own registry: never prom-client's global one, so embedding Palisade adds no metrics to the host's. */
  readonly registry: Registry;
  /** Give this to `loadEnvironment`: it records every evaluation the engine makes. */
  readonly observer: EvaluationObserver;
}

/** One label combination: a count, a latency sum and per-bucket (not cumulative) counts. */
interface Series {
  readonly labels: EvaluationLabels;
  count: number;
  sum: number;
  readonly buckets: Float64Array;
}

/**
 * Builds the evaluation metrics. Recording happens in our own per-series store and is
 * handed to prom-client only when scraped: prom-client's `inc`/`observe` validate and
 * hash the nine labels on every call, which measured ~1.9 µs for the pair per request
 * (2,000,000 records, 40 series, pinned core), against ~0.5 µs for one Map lookup on a
 * concatenated key plus three additions here. A scrape then does the hashing once per
 * series instead of once per request.
 */
export function createPolicyServerMetrics(): PolicyServerMetrics {
  const registry = new Registry();
  const store = new SeriesStore();
  // The counter is prom-client's own, refilled from the store at each scrape.
  new Counter<EvaluationLabel>({
    name: EVALUATIONS_TOTAL,
    help: 'Policy evaluations, by policy and outcome',
    labelNames: EVALUATION_LABELS,
    registers: [registry],
    collect(): void {
      this.reset();
      for (const series of store.all()) this.inc(series.labels, series.count);
    },
  });
  // prom-client's Histogram has no way to add a pre-aggregated bucket count, so the
  // histogram is a registry-compatible metric of our own (the registry only calls get/reset).
  registry.registerMetric(new LatencyHistogram(store) as unknown as Metric);
  return {
    registry,
    observer: (record) => {
      store.record(record);
    },
  };
}

class SeriesStore {
  private readonly series = new Map<string, Series>();

  record(r: EvaluationRecord): void {
    const key = `${r.policyId}\0${r.resourceKind}\0${r.resourceNamespace}\0${r.resourceRequestOperation}\0${r.policyMode}\0${r.requestOrigin}\0${r.accepted ? 1 : 0}${r.mutated ? 1 : 0}${r.errorCode ?? ''}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = {
        labels: labelsOf(r),
        count: 0,
        sum: 0,
        buckets: new Float64Array(LATENCY_BUCKETS_MS.length),
      };
      this.series.set(key, series);
    }
    series.count += 1;
    const ms = r.durationMs;
    if (!Number.isFinite(ms) || ms < 0) return;
    series.sum += ms;
    const index = bucketIndex(ms);
    if (index < series.buckets.length) series.buckets[index] = (series.buckets[index] ?? 0) + 1;
  }

  all(): IterableIterator<Series> {
    return this.series.values();
  }

  clear(): void {
    this.series.clear();
  }
}

function bucketIndex(ms: number): number {
  let i = 0;
  while (i < LATENCY_BUCKETS_MS.length && ms > (LATENCY_BUCKETS_MS[i] ?? Infinity)) i += 1;
  return i;
}

function labelsOf(r: EvaluationRecord): EvaluationLabels {
  return Object.freeze({
    policy_name: r.policyId,
    policy_mode: r.policyMode,
    resource_kind: r.resourceKind,
    resource_namespace: r.resourceNamespace,
    resource_request_operation: r.resourceRequestOperation,
    accepted: String(r.accepted),
    mutated: String(r.mutated),
    request_origin: r.requestOrigin,
    error_code: r.errorCode === undefined ? '' : String(r.errorCode),
  });
}

type HistogramValue = MetricValueWithName<EvaluationLabel | 'le'>;

class LatencyHistogram {
  readonly name = EVALUATION_LATENCY;
  readonly help = 'Policy evaluation latency in milliseconds, by policy and outcome';
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(private readonly store: SeriesStore) {}

  get(): Promise<MetricObjectWithValues<HistogramValue>> {
    const values: HistogramValue[] = [];
    for (const s of this.store.all()) {
      let cumulative = 0;
      LATENCY_BUCKETS_MS.forEach((bound, i) => {
        cumulative += s.buckets[i] ?? 0;
        values.push(this.value('_bucket', { ...s.labels, le: String(bound) }, cumulative));
      });
      values.push(this.value('_bucket', { ...s.labels, le: '+Inf' }, s.count));
      values.push(this.value('_sum', s.labels, s.sum));
      values.push(this.value('_count', s.labels, s.count));
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    } as unknown as MetricObjectWithValues<HistogramValue>);
  }

  /** `Registry.resetMetrics()` resets every metric; the counter is refilled from the store, so clear it. */
  reset(): void {
    this.store.clear();
  }

  private value(suffix: string, labels: HistogramValue['labels'], value: number): HistogramValue {
    return { metricName: `${this.name}${suffix}`, labels, value };
  }
}
