import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadEnvironment,
  readPolicySources,
  type EvaluationEnvironment,
} from '../../src/engine/index.js';
import { createHostCapabilities } from '../../src/runtime/capabilities/index.js';
import {
  createKubernetesPort,
  type KubernetesClientPort,
} from '../../src/runtime/capabilities/kubernetes-client.js';
import { createModuleLoader } from '../../src/runtime/loader.js';
import { WasmRuntime } from '../../src/runtime/runtime.js';
import type { AdmissionRequest } from '../../src/shared/admission.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube.js';

/**
 * Context-aware WebAssembly policies against a real kube-apiserver: the guest's host call
 * crosses the sandbox thread, the dispatcher's gating and the Kubernetes client, and the
 * cluster's answer comes back into the guest (pod-guard reports it as a warning).
 */
const BUILD = resolve('test/fixtures/wasm/build');

const getConfigMap = {
  namespace: 'kubernetes',
  operation: 'get_resource',
  payload: {
    api_version: 'v1',
    kind: 'ConfigMap',
    name: 'web-config',
    namespace: 'team-a',
    disable_cache: true,
  },
};
const listConfigMaps = {
  namespace: 'kubernetes',
  operation: 'list_resources_by_namespace',
  payload: { api_version: 'v1', kind: 'ConfigMap', namespace: 'team-a', label_selector: 'app=web' },
};

const POLICIES = `
c-reader:
  module: file://${join(BUILD, 'c-wapc.wasm')}
  contextAwareResources: [{apiVersion: v1, kind: ConfigMap}]
  settings: {host_call: ${JSON.stringify(getConfigMap)}}
c-ungranted:
  module: file://${join(BUILD, 'c-wapc.wasm')}
  settings: {host_call: ${JSON.stringify(getConfigMap)}}
go-lister:
  module: file://${join(BUILD, 'go-wasi.wasm')}
  executionMode: wasi
  contextAwareResources: [{apiVersion: v1, kind: ConfigMap}]
  settings: {host_call: ${JSON.stringify(listConfigMaps)}}
`;

let cluster: KubeApiServer;
let port: KubernetesClientPort;
let runtime: WasmRuntime;
let env: EvaluationEnvironment;
let dir: string;

beforeAll(async () => {
  cluster = await startKubeApiServer();
  await cluster.request('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'team-a' },
  });
  for (const [name, app] of [
    ['web-config', 'web'],
    ['db-config', 'db'],
  ] as const) {
    await cluster.request('POST', '/api/v1/namespaces/team-a/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, labels: { app } },
      data: { owner: name },
    });
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  port = createKubernetesPort({ kubeConfig });
  runtime = new WasmRuntime({
    logger: silentLogger(),
    capabilities: createHostCapabilities({ logger: silentLogger(), kubernetes: port }),
    workers: 2,
  });
  dir = mkdtempSync(join(tmpdir(), 'palisade-wasm-k8s-'));
  writeFileSync(join(dir, 'policies.yml'), POLICIES);
  env = await loadEnvironment(await readPolicySources(join(dir, 'policies.yml')), {
    logger: silentLogger(),
    modules: createModuleLoader(runtime),
  });
  expect(Object.fromEntries(env.loadErrors())).toEqual({});
}, 240_000);

afterAll(async () => {
  env.close();
  await runtime.close();
  port.close();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

const request: AdmissionRequest = {
  uid: 'uid-1',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  name: 'web',
  namespace: 'team-a',
  operation: 'CREATE',
  userInfo: { username: 'alice' },
  object: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'team-a' },
    spec: { containers: [{ name: 'app', image: 'app:1' }] },
  },
};

function answer(warning: string | undefined): unknown {
  expect(warning).toMatch(/^host answered: /);
  return JSON.parse((warning ?? '').slice('host answered: '.length));
}

describe('context-aware WebAssembly policies', () => {
  it('a waPC guest reads one object from the cluster', async () => {
    const r = await env.evaluate('c-reader', request, 'validate');
    expect(r.allowed).toBe(true);
    expect(answer(r.warnings?.[0])).toMatchObject({
      kind: 'ConfigMap',
      metadata: { name: 'web-config', namespace: 'team-a' },
      data: { owner: 'web-config' },
    });
  });

  it('a WASI guest built with the Kubewarden Go SDK lists objects by label', async () => {
    const r = await env.evaluate('go-lister', request, 'validate');
    expect(r.allowed).toBe(true);
    const list = answer(r.warnings?.[0]) as { items: { metadata: { name: string } }[] };
    expect(list.items.map((i) => i.metadata.name)).toEqual(['web-config']);
  });

  it('a policy without the resource in contextAwareResources gets Kubewarden’s denial', async () => {
    const r = await env.evaluate('c-ungranted', request, 'validate');
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toBe(
      'host call failed: Policy has not been granted access to Kubernetes v1/ConfigMap resources. The violation has been reported.',
    );
  });
});
