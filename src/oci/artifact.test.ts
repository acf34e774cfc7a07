import { describe, expect, it } from 'vitest';
import { buildPolicyManifest, parsePolicyManifest, WASM_LAYER_MEDIA_TYPE } from './artifact.js';

const layer = { mediaType: WASM_LAYER_MEDIA_TYPE, digest: `sha256:${'b'.repeat(64)}`, size: 10 };
const config = {
  mediaType: 'application/vnd.wasm.config.v1+json',
  digest: `sha256:${'c'.repeat(64)}`,
  size: 2,
};

describe('policy manifests', () => {
  it('writes kwctl annotations: single-line values only, source copied for Renovate', () => {
    const manifest = JSON.parse(
      buildPolicyManifest(config, layer, {
        'io.kubewarden.policy.title': 'pod-guard',
        'io.kubewarden.policy.usage': 'line one\nline two',
        'io.kubewarden.policy.source': 'https://github.com/example/pod-guard',
      }).toString(),
    ) as { annotations: Record<string, string> };
    expect(manifest.annotations).toEqual({
      'io.kubewarden.policy.title': 'pod-guard',
      'io.kubewarden.policy.source': 'https://github.com/example/pod-guard',
      'org.opencontainers.image.source': 'https://github.com/example/pod-guard',
    });
  });

  it('reads back the wasm layer and annotations', () => {
    const body = buildPolicyManifest(config, layer, { a: 'b' });
    expect(parsePolicyManifest(body, undefined, 'x')).toEqual({ layer, annotations: { a: 'b' } });
  });

  it('says what was found instead of a policy', () => {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    expect(() =>
      parsePolicyManifest(index, 'application/vnd.oci.image.index.v1+json', 'r/p:v1'),
    ).toThrow('r/p:v1: is an image index');
    const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, fsLayers: [] }));
    expect(() =>
      parsePolicyManifest(
        schema1,
        'application/vnd.docker.distribution.manifest.v1+prettyjws',
        'r/p:v1',
      ),
    ).toThrow(
      'the manifest has media type application/vnd.docker.distribution.manifest.v1+prettyjws',
    );
    expect(() => parsePolicyManifest(Buffer.from('oops'), 'text/plain', 'r/p:v1')).toThrow(
      'the manifest is not JSON (content type text/plain)',
    );
  });
});
