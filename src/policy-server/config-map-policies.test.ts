import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { PolicyDefinition } from '../engine/definition.js';
import { loadEnvironment } from '../engine/environment.js';
import type { PolicyLoadState } from '../engine/types.js';
import type { Informer, InformerCoreOptions, InformerHandlers } from '../operator/informer.js';
import type { JsonObject } from '../shared/admission.js';
import { createLogger, silentLogger, type Logger } from '../shared/logger.js';
import {
  followPoliciesConfigMap,
  parseConfigMapRef,
  type PoliciesConfigMap,
  type PolicyApplier,
} from './config-map-policies.js';

const REF = { namespace: 'palisade-system', name: 'policy-server-default' };

const replicas = (max: number | string) => `
replicas:
  module: builtin://cel
  settings:
    validations:
      - expression: object.spec.replicas <= ${String(max)}
        message: at most ${String(max)} replicas
`;

function configMap(resourceVersion: string, text: string | undefined): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...REF, resourceVersion },
    data: text === undefined ? { other: 'x' } : { 'policies.yml': text },
  };
}

/** An informer whose events the test delivers by calling the handlers. */
class FakeInformer implements Informer {
  handlers: InformerHandlers = {};
  synced = false;
  stopped = false;
  get = () => undefined;
  list = () => [];
  hasSynced = () => this.synced;
  waitForSync = () => Promise.resolve(this.synced);
  stop = () => {
    this.stopped = true;
    return Promise.resolve();
  };
  sync(): void {
    this.synced = true;
    void this.handlers.onSynced?.();
  }
  add(object: JsonObject): void {
    void this.handlers.onAdd?.(object);
  }
  update(object: JsonObject, old: JsonObject = {}): void {
    void this.handlers.onUpdate?.(object, old);
  }
  remove(object: JsonObject): void {
    void this.handlers.onDelete?.(object);
  }
}

/** Records the ids of every applied set; `gate` holds applies until released. */
function recordingApplier() {
  const applied: string[][] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const apply: PolicyApplier = async (definitions: readonly PolicyDefinition[]) => {
    applied.push(definitions.map((d) => `${d.id}:${JSON.stringify(d.body).length}`));
    if (gate) await gate;
    return new Map<string, PolicyLoadState>(
      definitions.map((d) => [d.id, { state: 'active', generation: 'g' }]),
    );
  };
  return {
    apply,
    applied,
    hold() {
      gate = new Promise((resolve) => (release = resolve));
    },
    release() {
      gate = undefined;
      release?.();
    },
  };
}

const running: PoliciesConfigMap[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

function follow(apply: PolicyApplier, logger: Logger = silentLogger(), waitLogIntervalMs = 60_000) {
  const informer = new FakeInformer();
  const policies = followPoliciesConfigMap(
    { configMap: REF, logger, apply, waitLogIntervalMs },
    (core: InformerCoreOptions) => {
      informer.handlers = core.handlers;
      return informer;
    },
  );
  running.push(policies);
  return { informer, policies };
}

function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    logger: createLogger({ level: 'info', format: 'json', destination }),
    lines: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('parseConfigMapRef', () => {
  it('reads <namespace>/<name>', () => {
    expect(parseConfigMapRef('palisade-system/policy-server-default')).toEqual(REF);
  });

  it.each(['name-only', 'a/b/c', '/b', 'a/', 'Upper/b', 'a/b_c'])('refuses %s', (value) => {
    expect(() => parseConfigMapRef(value)).toThrow(/not <namespace>\/<name> of a ConfigMap/);
  });
});

describe('followPoliciesConfigMap', () => {
  it('applies the first version, then reports it as the one serving', async () => {
    const env = await loadEnvironment([], { logger: silentLogger() });
    const { informer, policies } = follow((d) => env.apply(d));
    informer.add(configMap('7', replicas(5)));
    expect(await policies.firstApplied()).toBe(true);
    expect(env.loadStates().get('replicas')?.state).toBe('active');
    expect(policies.status()).toEqual({
      kind: 'configMap',
      name: 'palisade-system/policy-server-default',
      resourceVersion: '7',
    });
  });

  it('keeps the previous set when a version does not parse, and says where', async () => {
    const env = await loadEnvironment([], { logger: silentLogger() });
    const { informer, policies } = follow((d) => env.apply(d));
    informer.add(configMap('7', replicas(5)));
    await policies.firstApplied();
    const before = env.loadStates();
    informer.update(configMap('8', 'replicas: {module: [unclosed\n'));
    await tick();
    expect(env.loadStates()).toBe(before);
    const status = policies.status();
    expect(status.resourceVersion).toBe('7');
    expect(status.error).toMatch(
      /^resourceVersion 8 was not applied: ConfigMap palisade-system\/policy-server-default policies\.yml:\d+:\d+: /,
    );

    informer.update(configMap('9', replicas(10)));
    await tick();
    expect(policies.status()).toEqual({
      kind: 'configMap',
      name: 'palisade-system/policy-server-default',
      resourceVersion: '9',
    });
  });

  it.each([
    ['no policies.yml key', undefined, /has no "policies\.yml" key in data/],
    ['a list instead of a map', '- a\n- b\n', /expected a policy manifest or a policies\.yml map/],
  ])('does not apply a version with %s', async (_what, text, message) => {
    const applier = recordingApplier();
    const { informer, policies } = follow(applier.apply);
    informer.add(configMap('3', text));
    await tick();
    expect(applier.applied).toEqual([]);
    expect(policies.status().error).toMatch(message);
    expect(policies.status().resourceVersion).toBeUndefined();
  });

  it('applies a version whose entries are invalid: the environment reports them per policy', async () => {
    const env = await loadEnvironment([], { logger: silentLogger() });
    const { informer, policies } = follow((d) => env.apply(d));
    informer.add(configMap('4', 'bad:\n  module: builtin://cel\n  policyMode: loud\n'));
    expect(await policies.firstApplied()).toBe(true);
    const state = env.loadStates().get('bad');
    expect(state?.state).toBe('failed');
    expect(state?.error).toContain('bad.policyMode');
    expect(policies.status().error).toBeUndefined();
  });

  it('applies one version at a time and only the newest of a burst', async () => {
    const applier = recordingApplier();
    const { informer, policies } = follow(applier.apply);
    applier.hold();
    informer.add(configMap('1', replicas(1)));
    await tick();
    for (const [rv, max] of [
      ['2', 22],
      ['3', 333],
      ['4', 4444],
    ] as const)
      informer.update(configMap(rv, replicas(max)));
    await tick();
    expect(applier.applied).toHaveLength(1);
    applier.release();
    await tick();
    expect(applier.applied).toHaveLength(2);
    expect(policies.status().resourceVersion).toBe('4');
  });

  it('does not apply again a version already seen (resync, relist)', async () => {
    const applier = recordingApplier();
    const { informer, policies } = follow(applier.apply);
    const object = configMap('5', replicas(5));
    informer.add(object);
    await policies.firstApplied();
    informer.update(object, object);
    await tick();
    expect(applier.applied).toHaveLength(1);
  });

  it('keeps serving when the ConfigMap is deleted, and follows it when it comes back', async () => {
    const applier = recordingApplier();
    const { informer, policies } = follow(applier.apply);
    informer.add(configMap('5', replicas(5)));
    await policies.firstApplied();
    informer.remove(configMap('5', replicas(5)));
    expect(policies.status()).toMatchObject({
      resourceVersion: '5',
      error:
        'ConfigMap palisade-system/policy-server-default was deleted: resourceVersion 5 keeps serving',
    });
    informer.add(configMap('12', replicas(6)));
    await tick();
    expect(applier.applied).toHaveLength(2);
    expect(policies.status().error).toBeUndefined();
    expect(policies.status().resourceVersion).toBe('12');
  });

  it('waits for the ConfigMap, saying so at sync and then periodically', async () => {
    const { logger, lines } = captureLogger();
    const applier = recordingApplier();
    const { informer, policies } = follow(applier.apply, logger, 20);
    let applied: boolean | undefined;
    void policies.firstApplied().then((a) => (applied = a));
    informer.sync();
    await new Promise((resolve) => setTimeout(resolve, 70));
    const waiting = lines().filter(
      (l) => l['msg'] === 'waiting for the policies ConfigMap before serving',
    );
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    expect(waiting[0]?.['reason']).toContain('does not exist');
    expect(applied).toBeUndefined();

    informer.add(configMap('1', replicas(1)));
    await tick();
    expect(applied).toBe(true);
    const count = lines().length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(
      lines()
        .slice(count)
        .map((l) => l['msg']),
    ).not.toContain('waiting for the policies ConfigMap before serving');
  });

  it('does not claim to wait for a ConfigMap the first list delivered', async () => {
    const { logger, lines } = captureLogger();
    const applier = recordingApplier();
    applier.hold();
    const { informer, policies } = follow(applier.apply, logger);
    informer.add(configMap('1', replicas(1)));
    informer.sync();
    applier.release();
    expect(await policies.firstApplied()).toBe(true);
    expect(lines().map((l) => l['msg'])).toEqual(['policies loaded from the ConfigMap']);
  });

  it('logs a version that is not applied as an error naming the ConfigMap', async () => {
    const { logger, lines } = captureLogger();
    const { informer } = follow(recordingApplier().apply, logger);
    informer.add(configMap('2', ': : :\n  - [\n'));
    await tick();
    const error = lines().find((l) => l['level'] === 50);
    expect(error?.['msg']).toMatch(
      /^policies ConfigMap palisade-system\/policy-server-default not applied, nothing serves yet: /,
    );
  });

  it('answers false to firstApplied when stopped or aborted first', async () => {
    const { policies } = follow(recordingApplier().apply);
    const controller = new AbortController();
    const aborted = policies.firstApplied(controller.signal);
    controller.abort();
    expect(await aborted).toBe(false);
    const pending = policies.firstApplied();
    await policies.stop();
    expect(await pending).toBe(false);
    expect(await policies.firstApplied()).toBe(false);
  });
});
