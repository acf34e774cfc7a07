import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basicAuthorization,
  httpRequest,
  type HttpRequestOptions,
  type HttpResponse,
} from './registry-http.js';
import { startRegistry, type TestRegistry } from './registry.js';

const OCI_ACCEPT = 'application/vnd.oci.image.manifest.v1+json';
const UNKNOWN_BLOB = `sha256:${'0'.repeat(64)}`;

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A request that trusts the registry's own CA (if any), and nothing else. */
function get(
  registry: TestRegistry,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<HttpResponse> {
  const options: HttpRequestOptions = { method, headers };
  return httpRequest(
    `${registry.url}${path}`,
    registry.caPem === undefined ? options : { ...options, ca: registry.caPem },
  );
}

function getManifest(
  registry: TestRegistry,
  repository: string,
  reference: string,
  authorization?: string,
): Promise<HttpResponse> {
  const auth = authorization === undefined ? {} : { authorization };
  return get(registry, `/v2/${repository}/manifests/${reference}`, { accept: OCI_ACCEPT, ...auth });
}

function basicOf(registry: TestRegistry): string {
  const { username, password } = registry.credentials!;
  return basicAuthorization(username, password);
}

/** `Bearer realm="…",service="…",scope="…"` → its parameters. */
function challengeParams(header: string | string[] | undefined): Record<string, string> {
  expect(header).toMatch(/^Bearer /);
  const params: Record<string, string> = {};
  for (const [, key, value] of String(header).matchAll(/(\w+)="([^"]*)"/g)) {
    params[key!] = value!;
  }
  return params;
}

/** The token endpoint the registry's challenge names, with these scope parameters. */
async function tokenUrl(registry: TestRegistry, repository: string): Promise<URL> {
  const challenge = await getManifest(registry, repository, 'latest');
  expect(challenge.status).toBe(401);
  const { realm, service } = challengeParams(challenge.headers['www-authenticate']);
  const url = new URL(realm!);
  url.searchParams.set('service', service!);
  return url;
}

function askToken(registry: TestRegistry, url: URL, authorization?: string): Promise<HttpResponse> {
  return httpRequest(url, {
    headers: authorization === undefined ? {} : { authorization },
    ...(registry.caPem === undefined ? {} : { ca: registry.caPem }),
  });
}

/** Follows the registry's own challenge to the token server, as a client would. */
async function bearer(registry: TestRegistry, repository: string): Promise<string> {
  const url = await tokenUrl(registry, repository);
  url.searchParams.append('scope', `repository:${repository}:pull`);
  const res = await askToken(registry, url);
  expect(res.status).toBe(200);
  return `Bearer ${(JSON.parse(res.body.toString()) as { token: string }).token}`;
}

function jwtAccess(token: string): unknown {
  const payload = token.split('.')[1]!;
  return (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { access: unknown }).access;
}

/** The checks every configuration shares; `authorize` is that configuration's pull credential. */
function sharedChecks(
  registry: () => TestRegistry,
  authorize: (repository: string) => Promise<string | undefined>,
): void {
  it('serves a pushed image by tag, byte for byte, under its digest', async () => {
    const { digest, manifest } = await registry().pushImage('shared/app', 'v1');
    const res = await getManifest(registry(), 'shared/app', 'v1', await authorize('shared/app'));
    expect(res.status).toBe(200);
    expect(res.headers['docker-content-digest']).toBe(digest);
    expect(sha256(res.body)).toBe(digest);
    expect(res.body.equals(Buffer.from(manifest))).toBe(true);
  });

  it('stores each blob at blobPath(digest)', async () => {
    const { manifest } = await registry().pushImage('shared/blobs', 'v1');
    const doc = JSON.parse(Buffer.from(manifest).toString()) as { layers: { digest: string }[] };
    const layer = doc.layers[0]!.digest;
    expect(sha256(await readFile(registry().blobPath(layer)))).toBe(layer);
  });

  it('counts each request it serves, 404s and HEADs included, as soon as it is answered', async () => {
    const before = await registry().settledRequests();
    const denied = registry().credentials === undefined ? 404 : 401;
    for (let i = 1; i <= 10; i++) {
      const head = await get(registry(), `/v2/shared/app/blobs/${UNKNOWN_BLOB}`, {}, 'HEAD');
      expect(head.status).toBe(denied);
      expect(registry().requests()).toBe(before + 2 * i - 1);
      const missing = await get(registry(), '/v2/shared/app/manifests/nope');
      expect(missing.status).toBe(denied);
      expect(registry().requests()).toBe(before + 2 * i);
    }
    expect(await registry().settledRequests()).toBe(before + 20);
  });

  it('keeps pushed images across restart(), and refuses connections while down', async () => {
    const { digest } = await registry().pushImage('shared/restart', 'v1');
    let whileDown: unknown;
    await registry().restart(async () => {
      whileDown = await get(registry(), '/v2/').catch((e: unknown) => e);
    });
    expect(whileDown).toMatchObject({ code: 'ECONNREFUSED' });
    const auth = await authorize('shared/restart');
    const res = await getManifest(registry(), 'shared/restart', 'v1', auth);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(digest);
  });
}

describe("startRegistry({ auth: 'none' }): anonymous plain HTTP", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry.stop();
  });

  it('answers the ping anonymously over http, with no CA and no credentials', async () => {
    expect(registry.scheme).toBe('http');
    expect(registry.url).toBe(`http://${registry.host}`);
    expect([registry.caPem, registry.caFile, registry.credentials]).toEqual([undefined, undefined, undefined]); // prettier-ignore
    expect((await get(registry, '/v2/')).status).toBe(200);
  });

  sharedChecks(
    () => registry,
    () => Promise.resolve(undefined),
  );

  it('serves whatever blobPath holds, so tests can corrupt a blob', async () => {
    const digest = await registry.pushBlob('none/corrupt', Buffer.from('original bytes'));
    await writeFile(registry.blobPath(digest), 'corrupted');
    const res = await get(registry, `/v2/none/corrupt/blobs/${digest}`);
    expect(res.body.toString()).toBe('corrupted');
  });

  it('settles the count after large downloads, whose log lines trail the last byte', async () => {
    const digest = await registry.pushBlob('none/large', randomBytes(64 * 1024));
    for (let i = 1; i <= 10; i++) {
      const before = await registry.settledRequests();
      expect((await get(registry, `/v2/none/large/blobs/${digest}`)).status).toBe(200);
      expect(await registry.settledRequests()).toBe(before + 1);
    }
  });

  it('has no token endpoint to switch off', () => {
    expect(() => {
      registry.refuseTokens(true);
    }).toThrow('refuseTokens needs auth: token');
  });
});

describe("startRegistry({ auth: 'none', tls: true }): anonymous https", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
  });
  afterAll(async () => {
    await registry.stop();
  });

  it('serves https with its own CA, for the IP and for localhost', async () => {
    expect(registry.url).toBe(`https://${registry.host}`);
    expect(registry.caPem).toBe(await readFile(registry.caFile!, 'utf8'));
    expect((await get(registry, '/v2/')).status).toBe(200);
    const localhost = registry.url.replace('127.0.0.1', 'localhost');
    const res = await httpRequest(`${localhost}/v2/`, { ca: registry.caPem! });
    expect(res.status).toBe(200);
  });

  it('fails the handshake for a client that does not trust the CA', async () => {
    await expect(httpRequest(`${registry.url}/v2/`)).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('takes pushes and serves them back', async () => {
    const { digest } = await registry.pushImage('tls/app', 'v1');
    expect(sha256((await getManifest(registry, 'tls/app', 'v1')).body)).toBe(digest);
  });
});

describe("startRegistry({ auth: 'basic' }): htpasswd over TLS", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
  });
  afterAll(async () => {
    await registry.stop();
  });

  it('forces TLS, and the CA is needed', async () => {
    expect(registry.scheme).toBe('https');
    await expect(httpRequest(`${registry.url}/v2/`)).rejects.toThrow();
  });

  it('answers the ping with 401 without credentials or with a wrong password, 200 with them', async () => {
    const anonymous = await get(registry, '/v2/');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm=/);
    const { username } = registry.credentials!;
    const wrong = basicAuthorization(username, 'wrong');
    expect((await get(registry, '/v2/', { authorization: wrong })).status).toBe(401);
    expect((await get(registry, '/v2/', { authorization: basicOf(registry) })).status).toBe(200);
  });

  sharedChecks(
    () => registry,
    () => Promise.resolve(basicOf(registry)),
  );
});

describe("startRegistry({ auth: 'token', tls: true }): Bearer tokens over TLS", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', tls: true });
  });
  afterAll(async () => {
    await registry.stop();
  });

  it('answers the ping with a Bearer challenge, and 200 with a token', async () => {
    const anonymous = await get(registry, '/v2/');
    expect(anonymous.status).toBe(401);
    const { realm } = challengeParams(anonymous.headers['www-authenticate']);
    expect(realm).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/token$/);
    const token = await bearer(registry, 'token/ping');
    expect((await get(registry, '/v2/', { authorization: token })).status).toBe(200);
  });

  sharedChecks(
    () => registry,
    (repository) => bearer(registry, repository),
  );

  it('issues tokens to the right credentials and 401s wrong ones', async () => {
    const url = await tokenUrl(registry, 'token/creds');
    const before = registry.tokensIssued();
    expect((await askToken(registry, url, basicOf(registry))).status).toBe(200);
    const { username } = registry.credentials!;
    const wrong = await askToken(registry, url, basicAuthorization(username, 'wrong'));
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body.toString())).toMatchObject({
      errors: [{ code: 'UNAUTHORIZED' }],
    });
    expect(registry.tokensIssued()).toBe(before + 1);
  });

  it('grants every scope, whether in separate parameters or space-separated in one', async () => {
    const url = await tokenUrl(registry, 'token/scopes');
    url.searchParams.append('scope', 'repository:a/b:pull,push repository:c/d:pull');
    url.searchParams.append('scope', 'repository:e:pull');
    const res = await askToken(registry, url);
    expect(jwtAccess((JSON.parse(res.body.toString()) as { token: string }).token)).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'c/d', actions: ['pull'] },
      { type: 'repository', name: 'e', actions: ['pull'] },
    ]);
  });

  it('answers 401 to every token request after refuseTokens(true), until switched back', async () => {
    const url = await tokenUrl(registry, 'token/refused');
    registry.refuseTokens(true);
    try {
      for (const authorization of [undefined, basicOf(registry)]) {
        const res = await askToken(registry, url, authorization);
        expect(res.status).toBe(401);
        expect(JSON.parse(res.body.toString())).toMatchObject({
          errors: [{ code: 'UNAUTHORIZED' }],
        });
      }
      await registry.pushImage('token/refused', 'v1');
    } finally {
      registry.refuseTokens(false);
    }
    expect((await askToken(registry, url)).status).toBe(200);
  });
});
