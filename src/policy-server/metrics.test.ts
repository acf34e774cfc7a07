import { describe, expect, it } from 'vitest';
import type { EvaluationRecord } from '../engine/types.js';
import { createPolicyServerMetrics } from './metrics.js';

const record: EvaluationRecord = {
  policyId: 'p',
  policyMode: 'protect',
  resourceKind: 'Pod',
  resourceNamespace: 'ns',
  resourceRequestOperation: 'CREATE',
  accepted: true,
  mutated: false,
  requestOrigin: 'validate',
  durationMs: 0.04,
};

const LABELS =
  'policy_name="p",policy_mode="protect",resource_kind="Pod",resource_namespace="ns",resource_request_operation="CREATE"';

describe('createPolicyServerMetrics', () => {
  it('counts evaluations per label set, error_code empty when none', async () => {
    const { registry, observer } = createPolicyServerMetrics();
    observer(record);
    observer(record);
    observer({ ...record, accepted: false, errorCode: 403, durationMs: 3 });
    const text = await registry.metrics();
    expect(text).toContain(
      `palisade_policy_evaluations_total{${LABELS},accepted="true",mutated="false",request_origin="validate",error_code=""} 2`,
    );
    expect(text).toContain(
      `palisade_policy_evaluations_total{${LABELS},accepted="false",mutated="false",request_origin="validate",error_code="403"} 1`,
    );
  });

  it('exports a cumulative histogram in milliseconds', async () => {
    const { registry, observer } = createPolicyServerMetrics();
    observer(record);
    observer({ ...record, durationMs: 0.3 });
    observer({ ...record, durationMs: 20_000 });
    const text = await registry.metrics();
    const series = `${LABELS},accepted="true",mutated="false",request_origin="validate",error_code=""`;
    const bucket = (le: string): string =>
      `palisade_policy_evaluation_latency_milliseconds_bucket{${series},le="${le}"}`;
    expect(text).toContain(`${bucket('0.025')} 0`);
    expect(text).toContain(`${bucket('0.05')} 1`);
    expect(text).toContain(`${bucket('0.5')} 2`);
    expect(text).toContain(`${bucket('10000')} 2`);
    expect(text).toContain(`${bucket('+Inf')} 3`);
    expect(text).toContain(`palisade_policy_evaluation_latency_milliseconds_count{${series}} 3`);
    expect(text).toMatch(
      new RegExp(
        `palisade_policy_evaluation_latency_milliseconds_sum\\{${series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\} 20000\\.34`,
      ),
    );
  });

  it('uses its own registry, and a reset empties both metrics', async () => {
    const a = createPolicyServerMetrics();
    const b = createPolicyServerMetrics();
    a.observer(record);
    expect(await b.registry.metrics()).not.toContain('policy_name="p"');
    a.registry.resetMetrics();
    expect(await a.registry.metrics()).not.toContain('policy_name="p"');
  });
});
