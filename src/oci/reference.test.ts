import { describe, expect, it } from 'vitest';
import { parseImageReference, parseModuleSource, registryEndpoint } from './reference.js';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  it.each([
    ['busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['kubewarden/policy:v1', { registry: 'docker.io', repository: 'kubewarden/policy', tag: 'v1' }],
    [
      'index.docker.io/library/nginx',
      { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' },
    ],
    [
      'ghcr.io/kubewarden/policies/pod-privileged:v0.2.1',
      { registry: 'ghcr.io', repository: 'kubewarden/policies/pod-privileged', tag: 'v0.2.1' },
    ],
    ['127.0.0.1:5000/p/q', { registry: '127.0.0.1:5000', repository: 'p/q', tag: 'latest' }],
    ['localhost/p', { registry: 'localhost', repository: 'p', tag: 'latest' }],
    [`ghcr.io/a/b@${digest}`, { registry: 'ghcr.io', repository: 'a/b', digest }],
    [`ghcr.io/a/b:1.0@${digest}`, { registry: 'ghcr.io', repository: 'a/b', tag: '1.0', digest }],
  ])('%s', (input, expected) => {
    expect(parseImageReference(input)).toEqual(expected);
  });

  it.each([
    '',
    'Upper/case',
    'ghcr.io/a/b:bad tag',
    'ghcr.io/a/b@sha256:short',
    ' busybox',
    'a//b',
  ])('rejects %j', (input) => {
    expect(() => parseImageReference(input)).toThrow(/invalid image reference/);
  });

  it('talks to registry-1.docker.io for Docker Hub', () => {
    expect(registryEndpoint(parseImageReference('busybox'))).toBe('registry-1.docker.io');
    expect(registryEndpoint(parseImageReference('ghcr.io/a/b'))).toBe('ghcr.io');
  });
});

describe('parseModuleSource', () => {
  it('reads the module URL schemes Kubewarden accepts', () => {
    expect(parseModuleSource('registry://ghcr.io/org/policies/foo:v1.2.0')).toEqual({
      kind: 'registry',
      ref: { registry: 'ghcr.io', repository: 'org/policies/foo', tag: 'v1.2.0' },
    });
    expect(parseModuleSource('ghcr.io/org/foo@sha256:' + 'a'.repeat(64))).toEqual({
      kind: 'registry',
      ref: { registry: 'ghcr.io', repository: 'org/foo', digest: 'sha256:' + 'a'.repeat(64) },
    });
    expect(parseModuleSource('file:///tmp/a%20b.wasm')).toEqual({
      kind: 'file',
      path: '/tmp/a b.wasm',
    });
    const url = parseModuleSource('https://example.com/p.wasm');
    expect(url.kind === 'url' && url.url.href).toBe('https://example.com/p.wasm');
  });

  it('names the module text when it cannot be read', () => {
    expect(() => parseModuleSource('s3://bucket/p.wasm')).toThrow(
      'module "s3://bucket/p.wasm": unsupported scheme s3://',
    );
    expect(() => parseModuleSource('registry://ghcr.io/Org/Foo')).toThrow(
      /module "registry:\/\/ghcr.io\/Org\/Foo": invalid image reference/,
    );
  });
});
