import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../shared/admission.js';
import { isPalisadeError } from '../../shared/errors.js';
import { silentLogger } from '../../shared/logger.js';
import { recordingHostCapabilities, replayingHostCapabilities } from './record-replay.js';
import { formatSessionRequest, parseSession } from './session.js';
import type {
  CapabilityGrant,
  GetQuery,
  HostCallResult,
  HostCapabilities,
  KubernetesPort,
} from './types.js';

/** A fake cluster port holding one Namespace; every other get is "not found". */
const fakeCluster: KubernetesPort = {
  list: () => Promise.resolve({ apiVersion: 'v1', kind: 'NamespaceList', items: [] }),
  get: (query: GetQuery) =>
    query.name === 'test-policy'
      ? Promise.resolve({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'test-policy', labels: { team: 'a' } },
        })
      : Promise.reject(
          new Error(`Cannot find v1/Namespace named '${query.name}' inside of namespace 'None'`),
        ),
  canI: (spec: JsonObject) => Promise.resolve({ allowed: spec['user'] === 'admin' }),
};

const grant: CapabilityGrant = {
  policyId: 'recorded',
  hostCapabilities: ['kubernetes/*', 'net/*'],
  contextAwareResources: [{ apiVersion: 'v1', kind: 'Namespace' }],
};

function caller(capabilities: HostCapabilities) {
  return (namespace: string, operation: string, payload: unknown): Promise<HostCallResult> =>
    capabilities.call(
      grant,
      {
        binding: 'kubewarden',
        namespace,
        operation,
        payload: new TextEncoder().encode(JSON.stringify(payload)),
      },
      Date.now() + 5_000,
    );
}

const getNamespace = (name: string): JsonObject => ({
  api_version: 'v1',
  kind: 'Namespace',
  name,
  namespace: null,
  disable_cache: false,
});

/** The calls a context-aware policy makes: two recorded, three never reach the handler. */
async function policyRun(capabilities: HostCapabilities): Promise<HostCallResult[]> {
  const call = caller(capabilities);
  return [
    await call('kubernetes', 'get_resource', getNamespace('test-policy')),
    await call('tracing', 'log', { level: 'info', message: 'not recorded' }),
    await call('kubernetes', 'get_resource', getNamespace('missing')),
    await call('oci', 'v1/manifest_digest', 'busybox'),
    await call('kubernetes', 'get_resource', { kind: 'Namespace' }),
    await call('net', 'v1/dns_lookup_host', 'localhost'),
    await call('kubernetes', 'can_i', {
      subject_access_review: {
        user: 'admin',
        resource_attributes: { resource: 'pods', verb: 'create', namespace: 'default' },
      },
      disable_cache: true,
    }),
  ];
}

describe('record and replay in kwctl session format', () => {
  it('records what reached the handler, saves it, and replays the same answers', async () => {
    const recorder = recordingHostCapabilities({ logger: silentLogger(), kubernetes: fakeCluster });
    const live = await policyRun(recorder.capabilities);
    expect(live.map((r) => r.ok)).toEqual([true, true, false, false, false, true, true]);

    const dir = await mkdtemp(join(tmpdir(), 'palisade-session-'));
    try {
      const file = join(dir, 'session.yml');
      await recorder.save(file);
      const yaml = await readFile(file, 'utf8');
      expect(recorder.exchanges().map((e) => e.request.type)).toEqual([
        'KubernetesGetResource',
        'KubernetesGetResource',
        'DNSLookupHost',
        'KubernetesCanI',
      ]);
      expect(yaml).toContain('- type: Exchange\n  request: |\n    !KubernetesGetResource\n');
      expect(yaml).toContain(
        "    type: Error\n    message: Cannot find v1/Namespace named 'missing' inside of namespace 'None'\n",
      );

      const replay = replayingHostCapabilities(yaml, { logger: silentLogger() });
      expect(await policyRun(replay.capabilities)).toEqual(live);
      expect(replay.remaining()).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails a call that differs from the recording, and one past its end', async () => {
    const recorder = recordingHostCapabilities({ logger: silentLogger(), kubernetes: fakeCluster });
    await caller(recorder.capabilities)('kubernetes', 'get_resource', getNamespace('test-policy'));
    const replay = replayingHostCapabilities(recorder.toYaml(), { logger: silentLogger() });
    const call = caller(replay.capabilities);

    const wrong = await call('kubernetes', 'get_resource', getNamespace('other'));
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.error).toBe(
      'Callback evaluation failure: Replay error: unexpected request. Was expecting ' +
        'KubernetesGetResource {"api_version":"v1","disable_cache":false,"field_masks":null,"kind":"Namespace","name":"test-policy","namespace":null}, ' +
        'got KubernetesGetResource {"api_version":"v1","disable_cache":false,"field_masks":null,"kind":"Namespace","name":"other","namespace":null} instead',
    );
    const exhausted = await call('kubernetes', 'get_resource', getNamespace('test-policy'));
    expect(!exhausted.ok && exhausted.error).toMatch(
      /^Callback evaluation failure: Replay error: the list of recorded responses is empty/,
    );
  });

  it('replays a session written by kwctl (older files lack field_masks)', async () => {
    const kwctlSession = `- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: test-policy
    namespace: null
    disable_cache: false
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"test-policy"}}'
- type: Exchange
  request: |
    !KubernetesListResourceAll
    api_version: v1
    kind: Namespace
    label_selector: null
    field_selector: null
  response:
    type: Error
    message: the server is currently unable to handle the request
`;
    const replay = replayingHostCapabilities(kwctlSession, { logger: silentLogger() });
    const call = caller(replay.capabilities);
    const got = await call('kubernetes', 'get_resource', getNamespace('test-policy'));
    expect(got.ok && new TextDecoder().decode(got.payload)).toBe(
      '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"test-policy"}}',
    );
    expect(
      await call('kubernetes', 'list_resources_all', { api_version: 'v1', kind: 'Namespace' }),
    ).toEqual({
      ok: false,
      error: 'Callback evaluation failure: the server is currently unable to handle the request',
    });
  });

  it("writes requests the way serde_yaml does: a !Variant tag over Kubewarden's fields", () => {
    expect(
      formatSessionRequest({
        type: 'KubernetesCanI',
        fields: {
          request: {
            groups: null,
            resource_attributes: {
              group: null,
              name: null,
              namespace: 'default',
              resource: 'pods',
              subresource: null,
              verb: 'create',
              version: null,
            },
            user: 'admin',
          },
          disable_cache: true,
        },
      }),
    ).toBe(`!KubernetesCanI
request:
  groups: null
  resource_attributes:
    group: null
    name: null
    namespace: default
    resource: pods
    subresource: null
    verb: create
    version: null
  user: admin
disable_cache: true
`);
  });

  it.each([
    ['not a sequence', 'type: Exchange\n'],
    [
      'unknown request',
      "- request: '!LaunchMissiles\n  target: moon\n'\n  response: {type: Success, payload: ''}\n",
    ],
    [
      'missing field',
      "- request: '!DNSLookupHost\n  name: x\n'\n  response: {type: Success, payload: ''}\n",
    ],
    ['bad response', "- request: '!DNSLookupHost\n  host: x\n'\n  response: {type: Maybe}\n"],
  ])('rejects a malformed session file (%s) with a stable code', (_name, yaml) => {
    let caught: unknown;
    try {
      parseSession(yaml);
    } catch (e) {
      caught = e;
    }
    expect(isPalisadeError(caught, 'host_capabilities_session_invalid')).toBe(true);
  });
});
