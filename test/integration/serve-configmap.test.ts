import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeHttp, KubeApiError } from '../../src/shared/kube-http.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube.js';
import { palisade, spawnServe, type ServeProcess } from './support/cli.js';

/**
 * `palisade serve --policies-configmap` against a real API server, as the policy server pods
 * run it: an identity that may only get/list/watch its one ConfigMap, and policy changes
 * picked up by the same process, without a restart.
 */

const NAMESPACE = 'palisade-system';
const NAME = 'policy-server-default';
const USER = 'palisade-policy-server';
const ID = 'clusterwide-replica-limit';
const CONFIG_MAPS = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
const REQUESTS = join(import.meta.dirname, '../../policies/replica-limit/test/requests');
const SIX_REPLICAS = readFileSync(join(REQUESTS, 'deployment-6-replicas.json'), 'utf8');

/** What the operator writes (Kubewarden's JSON, cel-policy module) for at most `max` replicas. */
function policiesJson(max: number): string {
  return JSON.stringify({
    [ID]: {
      namespacedName: { Namespace: '', Name: 'replica-limit' },
      module: 'registry://ghcr.io/kubewarden/policies/cel-policy:v1.0.0',
      policyMode: 'protect',
      allowedToMutate: false,
      settings: {
        variables: [
          { name: 'replicas', expression: 'object.spec.replicas' },
          { name: 'maxreplicas', expression: `int(${max})` },
        ],
        validations: [
          {
            expression: 'variables.replicas <= variables.maxreplicas',
            messageExpression:
              "'the number of replicas must be less than or equal to ' + string(variables.maxreplicas)",
          },
        ],
      },
    },
  });
}

/** The same policy, hand-written YAML, with `expression` as given (possibly broken). */
function policiesYaml(expression: string): string {
  return `
${ID}:
  module: registry://ghcr.io/kubewarden/policies/cel-policy:v1.0.0
  settings:
    variables:
      - {name: replicas, expression: object.spec.replicas}
    validations:
      - expression: "${expression}"
        message: "replicas: ${expression}"
`;
}

function configMap(name: string, policies: string): object {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: NAMESPACE },
    data: { 'policies.yml': policies },
  };
}

interface ConfigMapReply {
  metadata: { resourceVersion: string };
}

interface PoliciesReply {
  policies: Record<
    string,
    { state: string; generation: string; error?: string; servingGeneration?: string }
  >;
  source: { kind: string; name?: string; resourceVersion?: string; error?: string };
}

interface Verdict {
  allowed: boolean;
  message: string | undefined;
}

let kube: KubeApiServer;
let userKubeconfig: string;

async function validate(url: string, body = SIX_REPLICAS): Promise<Verdict> {
  const res = await fetch(`${url}/validate/${ID}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  expect(res.status).toBe(200);
  const review = (await res.json()) as {
    response: { allowed: boolean; status?: { message?: string } };
  };
  return { allowed: review.response.allowed, message: review.response.status?.message };
}

async function policiesStatus(url: string): Promise<PoliciesReply> {
  const res = await fetch(`${url}/policies`);
  expect(res.status).toBe(200);
  return (await res.json()) as PoliciesReply;
}

/** Polls `probe` until it returns a value; resolves with it and how long it took. */
async function until<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return { value, ms: performance.now() - started };
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function replace(name: string, policies: string): Promise<string> {
  const reply = (await kube.request(
    'PUT',
    `${CONFIG_MAPS}/${name}`,
    configMap(name, policies),
  )) as ConfigMapReply;
  return reply.metadata.resourceVersion;
}

beforeAll(async () => {
  kube = await startKubeApiServer();
  await kube.request('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NAMESPACE },
  });
  // What the operator grants the policy server: its one ConfigMap, by name.
  await kube.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: NAME, namespace: NAMESPACE },
    rules: [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [NAME],
        verbs: ['get', 'list', 'watch'],
      },
    ],
  });
  await kube.request(
    'POST',
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/rolebindings`,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: NAME, namespace: NAMESPACE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: USER }],
    },
  );
  userKubeconfig = await kube.userKubeconfig(USER);
}, 120_000);

afterAll(async () => {
  await kube.stop();
});

describe('the identity the policy server runs as', () => {
  it('may list its ConfigMap only with the field selector naming it', async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(userKubeconfig);
    const api = createKubeHttp(kubeConfig);
    try {
      const refused = await api.request('GET', CONFIG_MAPS).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(KubeApiError);
      expect((refused as KubeApiError).status).toBe(403);
      const selected = await api.request(
        'GET',
        `${CONFIG_MAPS}?fieldSelector=${encodeURIComponent(`metadata.name=${NAME}`)}`,
      );
      expect(selected['kind']).toBe('ConfigMapList');
    } finally {
      api.close();
    }
  });
});

describe('palisade serve --policies-configmap', () => {
  let server: ServeProcess;
  let url: string;

  beforeAll(async () => {
    await kube.request('POST', CONFIG_MAPS, configMap(NAME, policiesJson(5)));
    server = spawnServe({
      args: ['--policies-configmap', `${NAMESPACE}/${NAME}`],
      env: { KUBECONFIG: userKubeconfig },
    });
    url = await server.url;
  }, 60_000);

  afterAll(async () => {
    await server.stop();
  });

  it("serves the ConfigMap's policies once they are loaded", async () => {
    const verdict = await validate(url);
    expect(verdict).toEqual({
      allowed: false,
      message: 'the number of replicas must be less than or equal to 5',
    });
    const current = (await kube.request('GET', `${CONFIG_MAPS}/${NAME}`)) as ConfigMapReply;
    const status = await policiesStatus(url);
    expect(status.source).toEqual({
      kind: 'configMap',
      name: `${NAMESPACE}/${NAME}`,
      resourceVersion: current.metadata.resourceVersion,
    });
    expect(status.policies[ID]?.state).toBe('active');
    expect(status.policies[ID]?.generation).toMatch(/^[0-9a-f]{16}$/);
    expect(Object.keys(status.policies[ID] ?? {}).sort()).toEqual(['generation', 'state']);
  });

  it('answers with an updated ConfigMap in the same process, within seconds', async () => {
    const before = await policiesStatus(url);
    const sent = performance.now();
    const version = await replace(NAME, policiesJson(10));
    const stored = performance.now() - sent;
    const { ms } = await until(
      async () => ((await validate(url)).allowed ? true : undefined),
      'the raised limit to answer',
    );
    const applyMs = /"applyMs":(\d+)[^\n]*"policies reloaded from the ConfigMap"/.exec(
      server.log(),
    );
    console.log(
      `reload latency (ConfigMap PUT sent → first new answer): ${(stored + ms).toFixed(0)} ms ` +
        `(PUT ${stored.toFixed(0)} ms, then ${ms.toFixed(0)} ms; server apply ${applyMs?.[1] ?? '?'} ms)`,
    );
    expect(stored + ms).toBeLessThan(5_000);
    const after = await policiesStatus(url);
    expect(after.source.resourceVersion).toBe(version);
    expect(after.policies[ID]?.state).toBe('active');
    expect(after.policies[ID]?.generation).not.toBe(before.policies[ID]?.generation);
    // One process, one bind: the server never restarted.
    expect(server.log().match(/"policy server listening"/g)).toHaveLength(1);
    expect(() => process.kill(server.pid, 0)).not.toThrow();
  });

  it('keeps the previous version of a policy whose new version does not compile, and says why', async () => {
    const serving = (await policiesStatus(url)).policies[ID]?.generation;
    const version = await replace(NAME, policiesYaml('variables.replicas <= '));
    const { value: state } = await until(async () => {
      const s = await policiesStatus(url);
      return s.source.resourceVersion === version ? s.policies[ID] : undefined;
    }, 'the broken version to be reported');
    expect(state.state).toBe('failed');
    expect(state.error).toContain(`${ID}.settings.validations[0].expression`);
    expect(state.servingGeneration).toBe(serving);
    expect((await validate(url)).allowed).toBe(true);
    const eleven = SIX_REPLICAS.replace('"replicas": 6', '"replicas": 11');
    expect(eleven).not.toBe(SIX_REPLICAS);
    expect(await validate(url, eleven)).toEqual({
      allowed: false,
      message: 'the number of replicas must be less than or equal to 10',
    });
  });

  it('keeps serving the previous set when policies.yml is not YAML, and reports the problem', async () => {
    const applied = (await policiesStatus(url)).source.resourceVersion;
    const version = await replace(NAME, `${ID}: {module: [unclosed\n`);
    const { value: source } = await until(async () => {
      const s = (await policiesStatus(url)).source;
      return s.error === undefined ? undefined : s;
    }, 'the unreadable version to be reported');
    expect(source.resourceVersion).toBe(applied);
    expect(source.error).toMatch(
      new RegExp(
        `^resourceVersion ${version} was not applied: ConfigMap ${NAMESPACE}/${NAME} policies\\.yml:\\d+:\\d+: `,
      ),
    );
    expect((await validate(url)).allowed).toBe(true);
    expect(server.log()).toMatch(
      /"level":50[^\n]*policies ConfigMap palisade-system\/policy-server-default not applied, the previous version keeps serving/,
    );
  });

  it('keeps serving the last set when the ConfigMap is deleted, and follows it once re-created', async () => {
    await kube.request('DELETE', `${CONFIG_MAPS}/${NAME}`);
    const { value: deleted } = await until(async () => {
      const s = (await policiesStatus(url)).source;
      return s.error?.includes('was deleted') === true ? s : undefined;
    }, 'the deletion to be reported');
    expect(deleted.error).toMatch(/^ConfigMap palisade-system\/policy-server-default was deleted/);
    expect((await validate(url)).allowed).toBe(true);

    await kube.request('POST', CONFIG_MAPS, configMap(NAME, policiesJson(5)));
    await until(
      async () => ((await validate(url)).allowed ? undefined : true),
      'the re-created ConfigMap to answer',
    );
    expect((await policiesStatus(url)).source.error).toBeUndefined();
  });

  it('drains and exits 0 on SIGTERM', async () => {
    expect(await server.stop()).toBe(0);
  });
});

describe('palisade serve --policies-configmap before the ConfigMap exists', () => {
  it('waits without listening, then serves once it is created', async () => {
    const name = 'policy-server-late';
    const server = spawnServe({
      args: ['--policies-configmap', `${NAMESPACE}/${name}`],
      env: { KUBECONFIG: kube.kubeconfigPath },
    });
    try {
      await until(
        () =>
          Promise.resolve(
            server.log().includes('waiting for the policies ConfigMap before serving')
              ? true
              : undefined,
          ),
        'the server to say it waits',
      );
      expect(server.log()).not.toContain('"policy server listening"');
      await kube.request('POST', CONFIG_MAPS, configMap(name, policiesJson(5)));
      const url = await server.url;
      expect((await validate(url)).allowed).toBe(false);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('stops cleanly on SIGTERM while still waiting', async () => {
    const server = spawnServe({
      args: ['--policies-configmap', `${NAMESPACE}/policy-server-never`],
      env: { KUBECONFIG: kube.kubeconfigPath },
    });
    await until(
      () =>
        Promise.resolve(
          server.log().includes('waiting for the policies ConfigMap before serving') || undefined,
        ),
      'the server to start waiting',
    );
    expect(await server.stop()).toBe(0);
  });
});

describe('palisade serve flags', () => {
  it('refuses --policies with --policies-configmap', async () => {
    const r = await palisade(
      'serve',
      '--policies',
      'policies.yml',
      '--policies-configmap',
      `${NAMESPACE}/${NAME}`,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--policies and --policies-configmap are mutually exclusive: serve either a file or a ConfigMap',
    );
  });

  it('refuses a --policies-configmap value that is not <namespace>/<name>', async () => {
    const r = await palisade('serve', '--policies-configmap', 'just-a-name');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"just-a-name" is not <namespace>/<name> of a ConfigMap');
  });
});
