import { createHash, randomBytes } from 'node:crypto';
import { httpRequest, type HttpResponse } from './registry-http.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Where and as whom the fixture helpers push. */
export interface PushTarget {
  readonly url: string;
  readonly ca: string | undefined;
  /** The `Authorization` value for pushing to `repository`, if the registry wants one. */
  readonly authorization: (repository: string) => string | undefined;
}

export function sha256Digest(content: Uint8Array): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

function send(
  target: PushTarget,
  repository: string,
  method: string,
  url: string | URL,
  extra: { headers?: Record<string, string>; body?: Uint8Array } = {},
): Promise<HttpResponse> {
  const authorization = target.authorization(repository);
  return httpRequest(url, {
    method,
    headers: { ...extra.headers, ...(authorization === undefined ? {} : { authorization }) },
    ...(extra.body === undefined ? {} : { body: extra.body }),
    ...(target.ca === undefined ? {} : { ca: target.ca }),
  });
}

/** POST then PUT: distribution answers a monolithic POST with 202 and drops its body. */
export async function pushBlob(
  target: PushTarget,
  repository: string,
  content: Uint8Array,
): Promise<string> {
  const digest = sha256Digest(content);
  const start = await send(
    target,
    repository,
    'POST',
    `${target.url}/v2/${repository}/blobs/uploads/`,
  );
  const location = start.headers.location;
  if (start.status !== 202 || location === undefined) {
    throw new Error(`blob upload did not start: ${start.status} ${start.body.toString()}`);
  }
  // Relative (`/v2/…?_state=…`): resolve it and keep its query.
  const upload = new URL(location, target.url);
  upload.searchParams.set('digest', digest);
  const put = await send(target, repository, 'PUT', upload, {
    headers: { 'content-type': 'application/octet-stream' },
    body: content,
  });
  if (put.status !== 201) {
    throw new Error(`blob upload failed: ${put.status} ${put.body.toString()}`);
  }
  return digest;
}

export async function pushManifest(
  target: PushTarget,
  repository: string,
  reference: string,
  manifest: Uint8Array,
  mediaType: string,
): Promise<string> {
  const url = `${target.url}/v2/${repository}/manifests/${reference}`;
  const res = await send(target, repository, 'PUT', url, {
    headers: { 'content-type': mediaType },
    body: manifest,
  });
  if (res.status !== 201) {
    throw new Error(`manifest push failed: ${res.status} ${res.body.toString()}`);
  }
  const digest = res.headers['docker-content-digest'];
  return typeof digest === 'string' ? digest : sha256Digest(manifest);
}

/** A Kubewarden-style WebAssembly artifact: random layer bytes, so every push is a new image. */
export async function pushImage(
  target: PushTarget,
  repository: string,
  tag: string,
  config: object = { architecture: 'amd64', os: 'linux' },
): Promise<{ digest: string; manifest: Uint8Array }> {
  const configBytes = Buffer.from(JSON.stringify(config));
  const layer = Buffer.concat([Buffer.from('\0asm\x01\0\0\0'), randomBytes(64)]);
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: await pushBlob(target, repository, configBytes),
      size: configBytes.length,
    },
    layers: [
      {
        mediaType: 'application/vnd.wasm.content.layer.v1+wasm',
        digest: await pushBlob(target, repository, layer),
        size: layer.length,
      },
    ],
    annotations: { 'org.opencontainers.image.title': `${repository}:${tag}` },
  };
  const manifest = Buffer.from(JSON.stringify(manifestDoc));
  const digest = await pushManifest(target, repository, tag, manifest, OCI_MANIFEST);
  return { digest, manifest };
}
