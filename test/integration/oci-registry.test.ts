import { readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OCI_MANIFEST_MEDIA_TYPE } from '../../src/oci/artifact.js';
import { RegistryClient } from '../../src/oci/client.js';
import { ModuleFetcher } from '../../src/oci/fetcher.js';
import { pushModule } from '../../src/oci/push.js';
import { parseImageReference, parseModuleSource } from '../../src/oci/reference.js';
import { NO_SOURCES } from '../../src/oci/sources.js';
import { ModuleStore } from '../../src/oci/store.js';
import { createLogger, silentLogger, type Logger } from '../../src/shared/logger.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { rejection } from '../support/errors.js';

/**
 * Pulling and pushing policy modules against a real registry (Debian's docker-registry) in
 * the three configurations users meet: anonymous HTTP, TLS with Basic auth, Bearer tokens.
 */
const MODULE = join(import.meta.dirname, '../fixtures/wasm/build/c-wapc.wasm');

let moduleBytes: Uint8Array;
let work: string;
beforeAll(async () => {
  moduleBytes = new Uint8Array(await readFile(MODULE));
  work = await mkdtemp(join(tmpdir(), 'palisade-oci-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

let stores = 0;
function freshStore(): ModuleStore {
  stores++;
  return new ModuleStore(join(work, `store-${stores}`));
}

function clientFor(registry: TestRegistry): RegistryClient {
  return new RegistryClient({
    sources:
      registry.caPem === undefined
        ? NO_SOURCES
        : { insecure: [], authorities: { [registry.host]: [registry.caPem] } },
    credentials: (host) => (host === registry.host ? registry.credentials : undefined),
    now: Date.now,
    retries: 1,
    backoffMs: 10,
  });
}

function fetcherFor(
  registry: TestRegistry,
  store: ModuleStore,
  logger: Logger = silentLogger(),
): ModuleFetcher {
  return new ModuleFetcher({ client: clientFor(registry), store, logger });
}

function source(text: string) {
  const s = parseModuleSource(text);
  if (s.kind === 'file') throw new Error('not remote');
  return s;
}

async function push(registry: TestRegistry, repoTag: string, bytes = moduleBytes) {
  const ref = parseImageReference(`${registry.host}/${repoTag}`);
  return pushModule(clientFor(registry), bytes, ref, { where: MODULE });
}

const CONFIGURATIONS = [
  { name: 'anonymous HTTP', options: { auth: 'none' } },
  { name: 'TLS with Basic auth', options: { auth: 'basic' } },
  { name: 'Bearer tokens', options: { auth: 'token' } },
] as const;

describe.each(CONFIGURATIONS)('pull and push against a real registry: $name', ({ options }) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry(options);
  });
  afterAll(async () => {
    await registry.stop();
  });

  it('pushes with Kubewarden media types and metadata annotations, and pulls the same bytes', async () => {
    const pushed = await push(registry, 'policies/pod-guard:v1');
    expect(pushed.immutableReference).toBe(
      `registry://${registry.host}/policies/pod-guard@${pushed.digest}`,
    );
    const client = clientFor(registry);
    const manifest = await client.manifest(
      parseImageReference(`${registry.host}/policies/pod-guard:v1`),
    );
    expect(manifest.digest).toBe(pushed.digest);
    const doc = JSON.parse(manifest.body.toString()) as {
      config: { mediaType: string };
      layers: { mediaType: string; size: number }[];
      annotations: Record<string, string>;
    };
    expect(doc.config.mediaType).toBe('application/vnd.wasm.config.v1+json');
    expect(doc.layers).toEqual([
      expect.objectContaining({
        mediaType: 'application/vnd.wasm.content.layer.v1+wasm',
        size: moduleBytes.length,
      }),
    ]);
    expect(doc.annotations['io.kubewarden.policy.title']).toBeTypeOf('string');

    const store = freshStore();
    const fetched = await fetcherFor(registry, store).fetch(
      source(`registry://${registry.host}/policies/pod-guard:v1`),
    );
    expect(fetched.cached).toBe(false);
    expect(fetched.manifestDigest).toBe(pushed.digest);
    expect(Buffer.from(fetched.bytes).equals(Buffer.from(moduleBytes))).toBe(true);
    const listed = (await store.list()).map((r) => r.reference);
    expect(listed).toEqual(
      [
        `registry://${registry.host}/policies/pod-guard:v1`,
        `registry://${registry.host}/policies/pod-guard@${pushed.digest}`,
      ].sort(),
    );
  });

  it('serves a cached module pinned by digest without touching the network', async () => {
    const pushed = await push(registry, 'policies/pinned:v1');
    const store = freshStore();
    const pinned = source(`registry://${registry.host}/policies/pinned@${pushed.digest}`);
    await fetcherFor(registry, store).fetch(pinned);
    const before = await registry.settledRequests();
    const again = await fetcherFor(registry, store).fetch(pinned);
    expect(again.cached).toBe(true);
    expect(await registry.settledRequests()).toBe(before);
  });

  it('resolves a tag again on each fetch, and downloads only when it moved', async () => {
    await push(registry, 'policies/moving:v1');
    const store = freshStore();
    const ref = source(`registry://${registry.host}/policies/moving:v1`);
    const first = await fetcherFor(registry, store).fetch(ref);
    const unchanged = await fetcherFor(registry, store).fetch(ref);
    expect(unchanged.cached).toBe(true);
    // A different module under the same tag: a custom section changes the digest.
    const other = new Uint8Array([...moduleBytes, 0, 5, 3, 0x61, 0x62, 0x63, 0x01]);
    const repushed = await push(registry, 'policies/moving:v1', other);
    const moved = await fetcherFor(registry, store).fetch(ref);
    expect(moved.cached).toBe(false);
    expect(moved.manifestDigest).toBe(repushed.digest);
    expect(moved.digest).not.toBe(first.digest);
  });

  it('downloads a module once when several policies pull it at the same time', async () => {
    await push(registry, 'policies/shared:v1');
    const ref = source(`registry://${registry.host}/policies/shared:v1`);
    const single = fetcherFor(registry, freshStore());
    let before = await registry.settledRequests();
    await single.fetch(ref);
    const oneFetch = (await registry.settledRequests()) - before;

    const concurrent = fetcherFor(registry, freshStore());
    before = await registry.settledRequests();
    const results = await Promise.all(Array.from({ length: 6 }, () => concurrent.fetch(ref)));
    expect((await registry.settledRequests()) - before).toBe(oneFetch);
    expect(new Set(results.map((r) => r.digest)).size).toBe(1);
  });

  it('names registry, repository and status for an unknown tag', async () => {
    const e = await rejection(
      fetcherFor(registry, freshStore()).fetch(
        source(`registry://${registry.host}/policies/pod-guard:no-such-tag`),
      ),
    );
    expect(e.code).toBe('registry_request_failed');
    expect(e.message).toContain(`${registry.host}/policies/pod-guard:no-such-tag`);
    expect(e.message).toContain('HTTP 404');
    expect(e.message).toContain('MANIFEST_UNKNOWN');
  });
});

describe('credentials, certificates and tokens that are refused', () => {
  let tls: TestRegistry;
  let tokens: TestRegistry;
  beforeAll(async () => {
    [tls, tokens] = await Promise.all([
      startRegistry({ auth: 'basic' }),
      startRegistry({ auth: 'token' }),
    ]);
    await push(tls, 'policies/pod-guard:v1');
    await push(tokens, 'policies/pod-guard:v1');
  });
  afterAll(async () => {
    await Promise.all([tls.stop(), tokens.stop()]);
  });

  it('refuses a registry whose certificate is not trusted, and says how to fix it', async () => {
    const client = new RegistryClient({ now: Date.now, credentials: () => tls.credentials });
    const e = await rejection(
      client.manifest(parseImageReference(`${tls.host}/policies/pod-guard:v1`)),
    );
    expect(e.code).toBe('registry_unreachable');
    expect(e.message).toContain(`the TLS certificate of ${tls.host} is not trusted`);
    expect(e.message).toContain('source_authorities');
  });

  it('asks for credentials when none are configured, and names the refused ones', async () => {
    const sources = { insecure: [], authorities: { [tls.host]: [tls.caPem ?? ''] } };
    const anonymous = new RegistryClient({ now: Date.now, sources });
    const ref = parseImageReference(`${tls.host}/policies/pod-guard:v1`);
    const none = await rejection(anonymous.manifest(ref));
    expect(none.code).toBe('registry_request_failed');
    expect(none.message).toContain('asks for a user name and password');
    const wrong = new RegistryClient({
      now: Date.now,
      sources,
      credentials: () => ({ username: 'nobody', password: 'wrong' }),
    });
    const refused = await rejection(wrong.manifest(ref));
    expect(refused.message).toContain(
      `registry ${tls.host} refused the credentials for repository policies/pod-guard: HTTP 401`,
    );
  });

  it('reports a token service that refuses, naming the scope', async () => {
    tokens.refuseTokens(true);
    try {
      const e = await rejection(
        fetcherFor(tokens, freshStore()).fetch(
          source(`registry://${tokens.host}/policies/pod-guard:v1`),
        ),
      );
      expect(e.code).toBe('registry_request_failed');
      expect(e.message).toContain('refused');
      expect(e.message).toContain('repository:policies/pod-guard:pull');
    } finally {
      tokens.refuseTokens(false);
    }
  });
});

describe('what a registry serves that is not a policy', () => {
  let registry: TestRegistry;
  let html: Server;
  let htmlHost: string;
  beforeAll(async () => {
    registry = await startRegistry();
    html = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><html><body>Welcome to our proxy</body></html>');
    });
    await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
    const address = html.address();
    htmlHost = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  afterAll(async () => {
    await registry.stop();
    await new Promise((resolve) => html.close(resolve));
  });

  async function expectNothingKept(store: ModuleStore): Promise<void> {
    expect(await store.list()).toEqual([]);
    const blobs = await readdir(join(store.root, 'blobs', 'sha256')).catch(() => []);
    expect(blobs).toEqual([]);
  }

  async function layerDigest(repoTag: string): Promise<string> {
    const manifest = await clientFor(registry).manifest(
      parseImageReference(`${registry.host}/${repoTag}`),
    );
    return (JSON.parse(manifest.body.toString()) as { layers: { digest: string }[] }).layers[0]
      ?.digest as string;
  }

  it('rejects a corrupt blob and keeps nothing of it', async () => {
    await push(registry, 'bad/corrupt:v1', new Uint8Array([...moduleBytes, 0, 2, 1, 0x63]));
    const path = registry.blobPath(await layerDigest('bad/corrupt:v1'));
    const content = await readFile(path);
    content.writeUInt8((content.at(-1) ?? 0) ^ 0xff, content.length - 1);
    await writeFile(path, content);
    const store = freshStore();
    const e = await rejection(
      fetcherFor(registry, store).fetch(source(`registry://${registry.host}/bad/corrupt:v1`)),
    );
    expect(e.code).toBe('artifact_invalid');
    expect(e.message).toContain(`${registry.host}/bad/corrupt:v1`);
    expect(e.message).toContain('corrupt download or tampered registry');
    await expectNothingKept(store);
  });

  it('rejects a truncated blob and keeps nothing of it', async () => {
    await push(registry, 'bad/truncated:v1', new Uint8Array([...moduleBytes, 0, 2, 1, 0x74]));
    await truncate(registry.blobPath(await layerDigest('bad/truncated:v1')), 100);
    const store = freshStore();
    const e = await rejection(
      fetcherFor(registry, store).fetch(source(`registry://${registry.host}/bad/truncated:v1`)),
    );
    expect(e.code).toBe('artifact_invalid');
    expect(e.message).toContain(`${registry.host}/bad/truncated:v1`);
    await expectNothingKept(store);
  });

  it('rejects a container image: no wasm layer', async () => {
    const client = clientFor(registry);
    const ref = parseImageReference(`${registry.host}/bad/container:v1`);
    const layer = Buffer.from('not a tarball, but the media type says so');
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST_MEDIA_TYPE,
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: await client.pushBlob(ref, config),
          size: config.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
            digest: await client.pushBlob(ref, layer),
            size: layer.length,
          },
        ],
      }),
    );
    await client.pushManifest(ref, 'v1', manifest, OCI_MANIFEST_MEDIA_TYPE);
    const store = freshStore();
    const e = await rejection(
      fetcherFor(registry, store).fetch(source(`registry://${registry.host}/bad/container:v1`)),
    );
    expect(e.code).toBe('artifact_invalid');
    expect(e.message).toContain(
      'no layer of media type application/vnd.wasm.content.layer.v1+wasm (layers: application/vnd.oci.image.layer.v1.tar+gzip)',
    );
    await expectNothingKept(store);
  });

  it('rejects an HTML page served where a manifest should be', async () => {
    const client = new RegistryClient({ now: Date.now, retries: 0 });
    const store = new ModuleStore(join(work, 'html-store'));
    const fetcher = new ModuleFetcher({ client, store, logger: silentLogger() });
    const e = await rejection(fetcher.fetch(source(`registry://${htmlHost}/policies/x:v1`)));
    expect(e.code).toBe('artifact_invalid');
    expect(e.message).toContain(`${htmlHost}/policies/x:v1`);
    expect(e.message).toContain('HTML page');
    await expectNothingKept(store);
  });
});

describe('a registry that goes away', () => {
  it('falls back to the digest a tag last resolved to, with a warning; unknown ones fail', async () => {
    const registry = await startRegistry();
    await push(registry, 'policies/pod-guard:v1');
    const pushedPinned = await push(registry, 'policies/pod-guard:v2');
    const store = freshStore();
    const lines: string[] = [];
    const logger = createLogger({
      level: 'warn',
      format: 'json',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    const tag = source(`registry://${registry.host}/policies/pod-guard:v1`);
    const pinned = source(`registry://${registry.host}/policies/pod-guard@${pushedPinned.digest}`);
    const online = await fetcherFor(registry, store).fetch(tag);
    await fetcherFor(registry, store).fetch(pinned);
    await registry.stop();

    const offline = fetcherFor(registry, store, logger);
    const fallback = await offline.fetch(tag);
    expect(fallback.cached).toBe(true);
    expect(fallback.digest).toBe(online.digest);
    expect(lines.join('')).toContain(
      'registry unreachable: using the module cached for this reference',
    );
    expect((await offline.fetch(pinned)).cached).toBe(true);

    const e = await rejection(
      offline.fetch(source(`registry://${registry.host}/policies/pod-guard:v3`)),
    );
    expect(e.code).toBe('registry_unreachable');
    expect(e.message).toContain(`cannot reach ${registry.host}`);
  });
});
