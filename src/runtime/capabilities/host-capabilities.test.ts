import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../shared/logger.js';
import { createHostCapabilities } from './host-capabilities.js';
import type { CallbackHandler, CallbackRequest, CapabilityGrant, HostCallResult } from './types.js';

const encoder = new TextEncoder();

function grantOf(
  hostCapabilities: string[],
  contextAwareResources = [{ apiVersion: 'v1', kind: 'Pod' }],
): CapabilityGrant {
  return { policyId: 'test-policy', hostCapabilities, contextAwareResources };
}

/** A handler that answers `{}` and remembers what reached it: gating happens before it. */
function reachedHandler(): CallbackHandler & { requests: CallbackRequest[] } {
  const requests: CallbackRequest[] = [];
  return {
    requests,
    handle(request) {
      requests.push(request);
      return Promise.resolve(encoder.encode('{}'));
    },
  };
}

/** Valid payloads for every operation Kubewarden knows (from its `callback.rs` tests). */
const OPERATIONS: readonly (readonly [namespace: string, operation: string, payload: unknown])[] = [
  [
    'oci',
    'v1/verify',
    {
      SigstorePubKeyVerify: {
        image: 'ghcr.io/example/image:latest',
        pub_keys: [],
        annotations: null,
      },
    },
  ],
  [
    'oci',
    'v2/verify',
    {
      type: 'SigstorePubKeyVerify',
      image: 'ghcr.io/example/image:latest',
      pub_keys: [],
      annotations: null,
    },
  ],
  ['oci', 'v1/manifest_digest', 'ghcr.io/example/image:latest'],
  ['oci', 'v1/oci_manifest', 'ghcr.io/example/image:latest'],
  ['oci', 'v1/oci_manifest_config', 'ghcr.io/example/image:latest'],
  ['net', 'v1/dns_lookup_host', 'example.com'],
  [
    'crypto',
    'v1/is_certificate_trusted',
    { cert: { encoding: 'Pem', data: [] }, cert_chain: null, not_after: null },
  ],
  [
    'kubernetes',
    'list_resources_by_namespace',
    {
      api_version: 'v1',
      kind: 'Pod',
      namespace: 'default',
      label_selector: null,
      field_selector: null,
      field_masks: null,
    },
  ],
  [
    'kubernetes',
    'list_resources_all',
    {
      api_version: 'v1',
      kind: 'Pod',
      label_selector: null,
      field_selector: null,
      field_masks: null,
    },
  ],
  [
    'kubernetes',
    'get_resource',
    { api_version: 'v1', kind: 'Pod', name: 'test', namespace: 'default', disable_cache: false },
  ],
  [
    'kubernetes',
    'can_i',
    {
      subject_access_review: {
        groups: null,
        resource_attributes: {
          group: null,
          name: null,
          namespace: null,
          resource: 'pods',
          subresource: null,
          verb: 'get',
          version: null,
        },
        user: 'test',
      },
      disable_cache: false,
    },
  ],
];

async function callWith(
  grant: CapabilityGrant,
  namespace: string,
  operation: string,
  payload: unknown,
  handler: CallbackHandler = reachedHandler(),
  binding = 'kubewarden',
): Promise<HostCallResult> {
  const capabilities = createHostCapabilities({ logger: silentLogger(), handler });
  const bytes =
    typeof payload === 'string' && payload.startsWith('raw:')
      ? encoder.encode(payload.slice(4))
      : encoder.encode(JSON.stringify(payload));
  return capabilities.call(
    grant,
    { binding, namespace, operation, payload: bytes },
    Date.now() + 5_000,
  );
}

function denial(path: string): HostCallResult {
  return {
    ok: false,
    error: `Policy has not been granted access to the '${path}' host capability. The violation has been reported.`,
  };
}

describe('gating', () => {
  it.each(OPERATIONS)(
    'denies %s/%s to a policy granted nothing, before reading the payload',
    async (namespace, operation) => {
      const handler = reachedHandler();
      const result = await callWith(grantOf([]), namespace, operation, 'raw:not json', handler);
      expect(result).toEqual(denial(`${namespace}/${operation}`));
      expect(handler.requests).toEqual([]);
    },
  );

  it.each(OPERATIONS)('lets %s/%s through with "*"', async (namespace, operation, payload) => {
    const handler = reachedHandler();
    const result = await callWith(grantOf(['*']), namespace, operation, payload, handler);
    expect(result).toEqual({ ok: true, payload: encoder.encode('{}') });
    expect(handler.requests).toHaveLength(1);
  });

  const matrix: readonly (readonly [patterns: string[], path: string, allowed: boolean])[] = [
    [['*'], 'kubernetes/can_i', true],
    [['oci/v1/verify'], 'oci/v1/verify', true],
    [['oci/v1/verify'], 'oci/v2/verify', false],
    [['oci/*'], 'oci/v1/verify', true],
    [['oci/*'], 'oci/v2/verify', true],
    [['oci/*'], 'oci/v1/manifest_digest', true],
    [['oci/*'], 'net/v1/dns_lookup_host', false],
    [['oci/v2/*'], 'oci/v2/verify', true],
    [['oci/v2/*'], 'oci/v1/verify', false],
    [['oci/v1/*'], 'oci/v1/oci_manifest_config', true],
    [['oci/v1/verify', 'net/v1/dns_lookup_host'], 'net/v1/dns_lookup_host', true],
    [['oci/v1/verify', 'net/v1/dns_lookup_host'], 'kubernetes/can_i', false],
    [['oci/*', 'kubernetes/can_i'], 'kubernetes/can_i', true],
    [['oci/*', 'kubernetes/can_i'], 'kubernetes/get_resource', false],
    [['kubernetes/*'], 'kubernetes/list_resources_all', true],
    [['crypto/*'], 'crypto/v1/is_certificate_trusted', true],
    [[' net/* '], 'net/v1/dns_lookup_host', true],
  ];
  it.each(matrix)('patterns %j and %s: allowed=%s', async (patterns, path, allowed) => {
    const [, namespace = '', operation = ''] = /^([^/]+)\/(.+)$/.exec(path) ?? [];
    const payload = OPERATIONS.find(([n, o]) => n === namespace && o === operation)?.[2];
    const result = await callWith(grantOf(patterns), namespace, operation, payload);
    expect(result).toEqual(allowed ? { ok: true, payload: encoder.encode('{}') } : denial(path));
  });

  it('never gates tracing/log, even for a policy granted nothing', async () => {
    const result = await callWith(grantOf([]), 'tracing', 'log', { level: 'info', message: 'hi' });
    expect(result).toEqual({ ok: true, payload: new Uint8Array(0) });
  });

  it('checks list and get against contextAwareResources with the Kubernetes denial text', async () => {
    const handler = reachedHandler();
    for (const [, operation, payload] of OPERATIONS.filter(
      ([n, o]) => n === 'kubernetes' && o !== 'can_i',
    )) {
      const result = await callWith(
        grantOf(['*'], [{ apiVersion: 'v1', kind: 'ConfigMap' }]),
        'kubernetes',
        operation,
        payload,
        handler,
      );
      expect(result).toEqual({
        ok: false,
        error:
          'Policy has not been granted access to Kubernetes v1/Pod resources. The violation has been reported.',
      });
    }
    const canI = OPERATIONS.find(([, o]) => o === 'can_i')?.[2];
    expect((await callWith(grantOf(['*'], []), 'kubernetes', 'can_i', canI, handler)).ok).toBe(
      true,
    );
    expect(handler.requests.map((r) => r.type)).toEqual(['KubernetesCanI']);
  });

  it('logs the violation with the policy id', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'info', format: 'json', destination });
    const capabilities = createHostCapabilities({ logger, handler: reachedHandler() });
    await capabilities.call(
      grantOf(['oci/*']),
      {
        binding: 'kubewarden',
        namespace: 'net',
        operation: 'v1/dns_lookup_host',
        payload: encoder.encode('"x"'),
      },
      Date.now() + 1000,
    );
    const record = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(record).toMatchObject({
      policy: 'test-policy',
      capability: 'net/v1/dns_lookup_host',
      allowed_capabilities: ['oci/*'],
    });
  });
});

describe('dispatch errors', () => {
  it('names an unknown binding, namespace or operation', async () => {
    expect(
      await callWith(grantOf(['*']), 'oci', 'v1/manifest_digest', 'x', undefined, 'wapc'),
    ).toEqual({ ok: false, error: 'unknown binding: wapc' });
    expect(await callWith(grantOf(['*']), 'storage', 'v1/get', 'x')).toEqual({
      ok: false,
      error: 'unknown namespace: storage',
    });
    expect(await callWith(grantOf(['*']), 'oci', 'v9/fly', 'x')).toEqual({
      ok: false,
      error: 'unknown operation: v9/fly',
    });
    expect(await callWith(grantOf([]), 'tracing', 'trace', {})).toEqual({
      ok: false,
      error: 'unknown operation: trace',
    });
    // Gating runs first, as in Kubewarden: an ungranted unknown namespace is a denial.
    expect(await callWith(grantOf(['oci/*']), 'storage', 'v1/get', 'x')).toEqual(
      denial('storage/v1/get'),
    );
    // Kubewarden's removed pre-1.33 calls are unknown operations now.
    expect(await callWith(grantOf(['*']), 'kubernetes', 'namespaces', '{}')).toEqual({
      ok: false,
      error: 'unknown operation: namespaces',
    });
  });

  const badPayloads: readonly (readonly [string, string, unknown, string])[] = [
    [
      'kubernetes',
      'get_resource',
      { api_version: 'v1', name: 'x', disable_cache: false },
      'missing field `kind`',
    ],
    [
      'kubernetes',
      'get_resource',
      { api_version: 'v1', kind: 'Pod', name: 'x' },
      'missing field `disable_cache`',
    ],
    [
      'kubernetes',
      'get_resource',
      { api_version: 'v1', kind: 3, name: 'x', disable_cache: false },
      'invalid type: integer `3`, expected a string at kind',
    ],
    [
      'kubernetes',
      'list_resources_by_namespace',
      { api_version: 'v1', kind: 'Pod' },
      'missing field `namespace`',
    ],
    [
      'kubernetes',
      'list_resources_all',
      { api_version: 'v1', kind: 'Pod', field_masks: 'spec' },
      'invalid type: string "spec", expected a sequence at field_masks',
    ],
    [
      'kubernetes',
      'can_i',
      {
        subject_access_review: { user: 'u', resource_attributes: { verb: 'get' } },
        disable_cache: true,
      },
      'missing field `resource` at subject_access_review.resource_attributes',
    ],
    [
      'crypto',
      'v1/is_certificate_trusted',
      { cert: { encoding: 'Base64', data: [] } },
      'unknown variant `Base64`, expected `Der` or `Pem` at cert.encoding',
    ],
    [
      'crypto',
      'v1/is_certificate_trusted',
      { cert: { encoding: 'Pem', data: [256] } },
      'invalid type: integer `256`, expected u8 at cert.data[0]',
    ],
    ['net', 'v1/dns_lookup_host', { host: 'x' }, 'invalid type: map, expected a string'],
    ['oci', 'v2/verify', { image: 'x' }, 'missing field `type`'],
    ['oci', 'v1/verify', { Unknown: {} }, 'unknown variant `Unknown`'],
    ['oci', 'v1/manifest_digest', 'raw:{not json', 'invalid payload for oci/v1/manifest_digest: '],
  ];
  it.each(badPayloads)(
    'rejects a bad %s/%s payload naming the field',
    async (namespace, operation, payload, message) => {
      const handler = reachedHandler();
      const result = await callWith(grantOf(['*']), namespace, operation, payload, handler);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error).toContain(
        `invalid payload for ${namespace}/${operation}: `,
      );
      expect(!result.ok && result.error).toContain(message);
      expect(handler.requests).toEqual([]);
    },
  );

  it('turns a handler failure into the error Kubewarden gives the guest', async () => {
    const failing: CallbackHandler = {
      handle: () => Promise.reject(new Error('registry is down')),
    };
    const result = await callWith(grantOf(['*']), 'oci', 'v1/manifest_digest', 'busybox', failing);
    expect(result).toEqual({ ok: false, error: 'Callback evaluation failure: registry is down' });
  });

  it('answers "timed out" at the deadline instead of waiting for a hung capability', async () => {
    const hung: CallbackHandler = { handle: () => new Promise<never>(() => undefined) };
    const capabilities = createHostCapabilities({ logger: silentLogger(), handler: hung });
    const started = Date.now();
    const result = await capabilities.call(
      grantOf(['*']),
      {
        binding: 'kubewarden',
        namespace: 'net',
        operation: 'v1/dns_lookup_host',
        payload: encoder.encode('"slow.example"'),
      },
      started + 150,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(
      /^host capability 'net\/v1\/dns_lookup_host' timed out: no answer within 1[45]\d ms$/,
    );
  });

  it('never throws, even when the handler throws synchronously', async () => {
    const broken: CallbackHandler = {
      handle: () => {
        throw new Error('boom');
      },
    };
    const result = await callWith(grantOf(['*']), 'net', 'v1/dns_lookup_host', 'x', broken);
    expect(result).toEqual({ ok: false, error: 'Callback evaluation failure: boom' });
  });
});
