import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/oci/client.js';
import { ModuleFetcher } from '../../src/oci/fetcher.js';
import { pushModule } from '../../src/oci/push.js';
import { parseImageReference, parseModuleSource } from '../../src/oci/reference.js';
import { NO_SOURCES, type RegistrySources } from '../../src/oci/sources.js';
import { ModuleStore } from '../../src/oci/store.js';
import { silentLogger } from '../../src/shared/logger.js';
import { makeServerPki } from '../support/registry-pki.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { rejection } from '../support/errors.js';

/**
 * Module sources beside registries, and registries that misbehave: `https://` modules from a
 * real TLS server with its own CA, and a real registry behind a proxy that answers 503 for a
 * while, to see retries and the fall-back to the store.
 */
const MODULE = join(import.meta.dirname, '../fixtures/wasm/build/c-wapc.wasm');

let moduleBytes: Buffer;
let work: string;
beforeAll(async () => {
  moduleBytes = await readFile(MODULE);
  work = await mkdtemp(join(tmpdir(), 'palisade-oci-fetch-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function listen(server: Server | HttpsServer): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(`127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`);
    });
  });
}

function close(server: Server | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => {
      resolve();
    });
  });
}

function fetcher(store: string, sources: RegistrySources = NO_SOURCES, retries = 2) {
  return new ModuleFetcher({
    client: new RegistryClient({ now: Date.now, sources, retries, backoffMs: 10 }),
    store: new ModuleStore(join(work, store)),
    logger: silentLogger(),
  });
}

function remote(text: string) {
  const source = parseModuleSource(text);
  if (source.kind === 'file') throw new Error('not remote');
  return source;
}

describe('https:// modules from a TLS server with its own CA', () => {
  let server: HttpsServer;
  let host: string;
  let caPem: string;
  beforeAll(async () => {
    const pki = await makeServerPki(await mkdtemp(join(work, 'pki-')));
    caPem = pki.caPem;
    server = createHttpsServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
      if (req.url === '/policies/pod-guard.wasm') {
        res.writeHead(200, { 'content-type': 'application/wasm' });
        res.end(moduleBytes);
      } else {
        res.writeHead(404);
        res.end('not found');
      }
    });
    host = await listen(server);
  });

  it('downloads with the host CA from sources.yml, and refuses without it', async () => {
    const url = `https://${host}/policies/pod-guard.wasm`;
    const trusted = { insecure: [], authorities: { [host]: [caPem] } };
    const fetched = await fetcher('https-store', trusted).fetch(remote(url));
    expect(Buffer.from(fetched.bytes).equals(moduleBytes)).toBe(true);
    expect(fetched.cached).toBe(false);

    const untrusted = await rejection(fetcher('https-untrusted').fetch(remote(url)));
    expect(untrusted.code).toBe('registry_unreachable');
    expect(untrusted.message).toContain(`the TLS certificate of ${host} is not trusted`);

    const missing = await rejection(
      fetcher('https-store', trusted).fetch(remote(`https://${host}/policies/none.wasm`)),
    );
    expect(missing.code).toBe('registry_request_failed');
    expect(missing.message).toContain('HTTP 404');
  });

  it('allows plain http only for hosts listed as insecure', async () => {
    const e = await rejection(
      fetcher('http-store').fetch(remote(`http://${host}/policies/x.wasm`)),
    );
    expect(e.code).toBe('reference_invalid');
    expect(e.message).toContain('plain http is only allowed for hosts listed in insecure_sources');
  });

  it('serves the stored download when the server is gone', async () => {
    await close(server);
    const url = `https://${host}/policies/pod-guard.wasm`;
    const offline = await fetcher('https-store', {
      insecure: [],
      authorities: { [host]: [caPem] },
    }).fetch(remote(url));
    expect(offline.cached).toBe(true);
    expect(Buffer.from(offline.bytes).equals(moduleBytes)).toBe(true);
  });
});

describe('a registry behind a proxy that answers 503', () => {
  let registry: TestRegistry;
  let proxy: Server;
  let host: string;
  let failNext = 0;
  let failed = 0;
  beforeAll(async () => {
    registry = await startRegistry();
    const ref = parseImageReference(`${registry.host}/policies/pod-guard:v1`);
    await pushModule(new RegistryClient({ now: Date.now }), new Uint8Array(moduleBytes), ref, {
      where: MODULE,
    });
    proxy = createServer((req, res) => {
      if (failNext > 0) {
        failNext--;
        failed++;
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}');
        return;
      }
      const upstream = request(
        `${registry.url}${req.url ?? '/'}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    host = await listen(proxy);
  });
  afterAll(async () => {
    await close(proxy);
    await registry.stop();
  });

  it('retries with back-off and succeeds', async () => {
    failNext = 2;
    failed = 0;
    const fetched = await fetcher('retry-store').fetch(
      remote(`registry://${host}/policies/pod-guard:v1`),
    );
    expect(failed).toBe(2);
    expect(Buffer.from(fetched.bytes).equals(moduleBytes)).toBe(true);
  });

  it('treats a registry that keeps failing as unreachable: the stored tag serves', async () => {
    const tag = remote(`registry://${host}/policies/pod-guard:v1`);
    failNext = 100;
    const cached = await fetcher('retry-store').fetch(tag);
    expect(cached.cached).toBe(true);
    const e = await rejection(fetcher('empty-store').fetch(tag));
    expect(e.code).toBe('registry_unreachable');
    expect(e.message).toContain('keeps failing: HTTP 503 (UNAVAILABLE: try later)');
    failNext = 0;
  });
});
