import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../shared/admission.js';
import { silentLogger } from '../shared/logger.js';
import { loadEnvironment } from './environment.js';
import { definitionsFromDocuments } from './sources.js';
import { deploymentRequest, replicaManifest } from './testdata.js';

/** A replica-limit manifest whose maximum is `max`, or whose expression does not compile. */
function replicaPolicy(max: number | 'broken', name = 'replica-limit'): JsonValue {
  const expression = `variables.replicas <= ${max === 'broken' ? '' : String(max)}`;
  const manifest = replicaManifest({
    settings: {
      variables: [{ name: 'replicas', expression: 'object.spec.replicas' }],
      validations: [{ expression, message: `at most ${String(max)} replicas` }],
    },
  }) as { metadata: { name: string } };
  manifest.metadata.name = name;
  return manifest;
}

const defs = (...docs: JsonValue[]) => definitionsFromDocuments(docs, 'cluster');
const ID = 'clusterwide-replica-limit';

describe('apply (hot reload)', () => {
  it('serves a changed policy at once and leaves unchanged ones as they were', async () => {
    const env = await loadEnvironment(defs(replicaPolicy(5), replicaPolicy(2, 'other')), {
      logger: silentLogger(),
    });
    const before = env.loadStates();
    expect((await env.evaluate(ID, deploymentRequest(6), 'validate')).allowed).toBe(false);

    const after = await env.apply(defs(replicaPolicy(10), replicaPolicy(2, 'other')));
    expect((await env.evaluate(ID, deploymentRequest(6), 'validate')).allowed).toBe(true);
    expect(after.get(ID)?.state).toBe('active');
    expect(after.get(ID)?.generation).not.toBe(before.get(ID)?.generation);
    expect(after.get('clusterwide-other')).toEqual(before.get('clusterwide-other'));
  });

  it('keeps the previous version serving when the change does not load, and says why', async () => {
    const env = await loadEnvironment(defs(replicaPolicy(5)), { logger: silentLogger() });
    const served = env.loadStates().get(ID)?.generation;
    const states = await env.apply(defs(replicaPolicy('broken')));
    const state = states.get(ID);
    expect(state?.state).toBe('failed');
    expect(state?.servingGeneration).toBe(served);
    expect(state?.error).toContain('spec.settings.validations[0].expression');
    expect(env.loadErrors().size).toBe(0);
    const answer = await env.evaluate(ID, deploymentRequest(6), 'validate');
    expect(answer.status?.message).toBe('at most 5 replicas');
  });

  it('answers with the load error for a new policy that does not load, as at start-up', async () => {
    const env = await loadEnvironment(defs(), { logger: silentLogger() });
    const states = await env.apply(defs(replicaPolicy('broken')));
    expect(states.get(ID)?.servingGeneration).toBeUndefined();
    const answer = await env.evaluate(ID, deploymentRequest(1), 'validate');
    expect(answer.allowed).toBe(false);
    expect(answer.status?.code).toBe(500);
  });

  it('forgets a removed policy', async () => {
    const env = await loadEnvironment(defs(replicaPolicy(5)), { logger: silentLogger() });
    await env.apply(defs());
    expect(env.has(ID)).toBe(false);
    await expect(env.evaluate(ID, deploymentRequest(1), 'validate')).rejects.toThrow(
      `policy "${ID}" is not known to this server`,
    );
  });

  it('applies one change after the other, each on top of the last', async () => {
    const env = await loadEnvironment(defs(replicaPolicy(5)), { logger: silentLogger() });
    await Promise.all([env.apply(defs(replicaPolicy(7))), env.apply(defs(replicaPolicy(9)))]);
    expect((await env.evaluate(ID, deploymentRequest(8), 'validate')).allowed).toBe(true);
  });
});
