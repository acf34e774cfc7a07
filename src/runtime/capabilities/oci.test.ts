import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logger.js';
import { startRegistry, type TestRegistry } from '../../../test/support/registry.js';
import { createHostCapabilities } from './host-capabilities.js';
import type { CapabilityGrant, HostCallResult } from './types.js';

const grant: CapabilityGrant = {
  policyId: 'oci-test',
  contextAwareResources: [],
  hostCapabilities: ['oci/v1/*'],
};

function call(
  capabilities: ReturnType<typeof createHostCapabilities>,
  operation: string,
  image: string,
): Promise<HostCallResult> {
  const payload = new TextEncoder().encode(JSON.stringify(image));
  return capabilities.call(
    grant,
    { binding: 'kubewarden', namespace: 'oci', operation, payload },
    Date.now() + 20_000,
  );
}

function answer(result: HostCallResult): unknown {
  if (!result.ok) throw new Error(`host call failed: ${result.error}`);
  return JSON.parse(new TextDecoder().decode(result.payload));
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

describe('oci/v1/* against a real registry (anonymous, plain HTTP on loopback)', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry.stop();
  });

  it('answers manifest_digest with the sha256 of the pushed manifest bytes', async () => {
    const { digest, manifest } = await registry.pushImage('policies/pod-guard', 'v1.0.0');
    expect(digest).toBe(sha256(manifest));
    const capabilities = createHostCapabilities({ logger: silentLogger() });
    const result = await call(
      capabilities,
      'v1/manifest_digest',
      `${registry.host}/policies/pod-guard:v1.0.0`,
    );
    expect(answer(result)).toEqual({ digest });
  });

  it('accepts a reference pinned by digest and rejects one whose digest the registry does not hold', async () => {
    const { digest } = await registry.pushImage('policies/pinned', 'latest');
    const capabilities = createHostCapabilities({ logger: silentLogger() });
    const ok = await call(
      capabilities,
      'v1/manifest_digest',
      `${registry.host}/policies/pinned@${digest}`,
    );
    expect(answer(ok)).toEqual({ digest });
    const missing = `sha256:${'0'.repeat(64)}`;
    const bad = await call(
      capabilities,
      'v1/manifest_digest',
      `${registry.host}/policies/pinned@${missing}`,
    );
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(
      /^Callback evaluation failure: cannot fetch the manifest .*HTTP 404/,
    );
  });

  it('reports an unknown tag with the registry error code', async () => {
    const capabilities = createHostCapabilities({ logger: silentLogger() });
    const result = await call(
      capabilities,
      'v1/manifest_digest',
      `${registry.host}/policies/none:nope`,
    );
    expect(result).toEqual({
      ok: false,
      error: expect.stringContaining('MANIFEST_UNKNOWN') as unknown,
    });
  });

  it('keeps a digest for 60 s, so a retag is seen only after the cache expires', async () => {
    let now = Date.now();
    const capabilities = createHostCapabilities({ logger: silentLogger(), now: () => now });
    const first = await registry.pushImage('policies/moving', 'stable');
    const image = `${registry.host}/policies/moving:stable`;
    expect(answer(await call(capabilities, 'v1/manifest_digest', image))).toEqual({
      digest: first.digest,
    });
    const second = await registry.pushImage('policies/moving', 'stable');
    expect(second.digest).not.toBe(first.digest);
    now += 59_000;
    expect(answer(await call(capabilities, 'v1/manifest_digest', image))).toEqual({
      digest: first.digest,
    });
    now += 2_000;
    expect(answer(await call(capabilities, 'v1/manifest_digest', image))).toEqual({
      digest: second.digest,
    });
  });

  it('serves oci_manifest and oci_manifest_config', async () => {
    const config = { architecture: 'amd64', os: 'linux', config: { Env: ['A=1'] } };
    const { digest, manifest } = await registry.pushImage('policies/configured', 'v2', config);
    const capabilities = createHostCapabilities({ logger: silentLogger() });
    const image = `${registry.host}/policies/configured:v2`;
    const manifestJson = JSON.parse(new TextDecoder().decode(manifest)) as unknown;
    expect(answer(await call(capabilities, 'v1/oci_manifest', image))).toEqual(manifestJson);
    expect(answer(await call(capabilities, 'v1/oci_manifest_config', image))).toEqual({
      manifest: manifestJson,
      digest,
      config,
    });
  });

  it('uses plain HTTP only for loopback names and registries listed as insecure', async () => {
    // 0.0.0.0 reaches the loopback listener on Linux but is not a loopback name.
    const host = registry.host.replace('127.0.0.1', '0.0.0.0');
    const image = `${host}/policies/pod-guard:v1.0.0`;
    const strict = createHostCapabilities({ logger: silentLogger() });
    const refused = await call(strict, 'v1/manifest_digest', image);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toContain(`cannot reach ${host}`);

    const listed = createHostCapabilities({
      logger: silentLogger(),
      oci: { sources: { insecure: [host], authorities: {} } },
    });
    const { digest } = await registry.pushImage('policies/pod-guard', 'v1.0.0');
    expect(answer(await call(listed, 'v1/manifest_digest', image))).toEqual({ digest });
  });
});

describe('oci/v1/manifest_digest through the Bearer token flow of a real registry', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
  });
  afterAll(async () => {
    await registry.stop();
  });

  it('gets an anonymous token on 401 and reuses it for the next call', async () => {
    const { digest } = await registry.pushImage('secured/app', 'v1');
    const anonymous = await fetch(`${registry.url}/v2/secured/app/manifests/v1`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);

    const capabilities = createHostCapabilities({ logger: silentLogger() });
    const before = registry.tokensIssued();
    const result = await call(
      capabilities,
      'v1/manifest_digest',
      `${registry.host}/secured/app:v1`,
    );
    expect(answer(result)).toEqual({ digest });
    expect(registry.tokensIssued()).toBe(before + 1);

    const again = await call(capabilities, 'v1/oci_manifest', `${registry.host}/secured/app:v1`);
    expect(again.ok).toBe(true);
    expect(registry.tokensIssued()).toBe(before + 1);
  });
});
