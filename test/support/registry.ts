import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution 2.8) on
 * 127.0.0.1 and a free port, with its own config and storage in a temporary directory. With
 * `auth: 'token'` it demands Bearer tokens, issued anonymously for any scope by a small token
 * server in this process that signs ES256 JWTs with a certificate the registry trusts, so the
 * whole 401 → token → retry flow runs against distribution's own verification.
 */
export interface TestRegistry {
  /** `127.0.0.1:<port>`, the registry part of image references. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** How many tokens the token server has issued (0 without token auth). */
  readonly tokensIssued: () => number;
  /** Uploads a blob (POST then PUT, distribution ignores monolithic POST bodies); its digest. */
  pushBlob(repository: string, content: Uint8Array): Promise<string>;
  /** Puts a manifest under a tag or digest; the digest the registry computed. */
  pushManifest(
    repository: string,
    reference: string,
    manifest: Uint8Array,
    mediaType: string,
  ): Promise<string>;
  /** Pushes config + one layer + an OCI image manifest under `tag`; its digest and bytes. */
  pushImage(
    repository: string,
    tag: string,
    config?: object,
  ): Promise<{ digest: string; manifest: Uint8Array }>;
  stop(): Promise<void>;
}

export interface TestRegistryOptions {
  readonly auth?: 'none' | 'token';
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const SERVICE = 'palisade-test-registry';
const ISSUER = 'palisade-test-issuer';
const APT_ENSURE = fileURLToPath(new URL('../../scripts/apt-ensure.sh', import.meta.url));

function ensureInstalled(): void {
  try {
    execFileSync('docker-registry', ['--version'], { stdio: 'ignore' });
  } catch {
    execFileSync('bash', [APT_ENSURE, 'docker-registry', 'openssl'], { stdio: 'inherit' });
  }
}

/** A port the kernel just handed out; the registry binds it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

function sha256(content: Uint8Array): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

interface TokenIssuer {
  readonly realm: string;
  readonly issued: () => number;
  /** A token for these scopes, as the token endpoint would issue it. */
  readonly token: (scopes: readonly string[]) => string;
  readonly close: () => Promise<void>;
}

/** distribution's token format: ES256 JWT, `x5c` chained to `rootcertbundle`, `access` claims. */
async function startTokenIssuer(dir: string): Promise<TokenIssuer & { certFile: string }> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      '/CN=palisade-test-token-issuer',
      '-days',
      '2',
    ],
    { stdio: 'ignore' },
  );
  const key = await readFile(keyFile, 'utf8');
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString('base64');
  let issued = 0;
  const token = (scopes: readonly string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((scope) => {
      const parts = scope.split(':');
      const actions = (parts.pop() ?? '').split(',');
      const [type = '', ...name] = parts;
      return { type, name: name.join(':'), actions };
    });
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer] };
    const claims = {
      iss: ISSUER,
      sub: '',
      aud: SERVICE,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${base64url(signature)}`;
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    issued++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ token: token(url.searchParams.getAll('scope')), expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certFile,
    issued: () => issued,
    token,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not become ready: ${stderr()}`);
}

export async function startRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  ensureInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'palisade-registry-'));
  const port = await freePort();
  const issuer = options.auth === 'token' ? await startTokenIssuer(dir) : undefined;
  const auth =
    issuer === undefined
      ? ''
      : `auth:\n  token:\n    realm: ${issuer.realm}\n    service: ${SERVICE}\n    issuer: ${ISSUER}\n    rootcertbundle: ${issuer.certFile}\n`;
  const config = `version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: ${join(dir, 'data')}}
  delete: {enabled: true}
http: {addr: 127.0.0.1:${port}, secret: palisade-test-not-secret}
${auth}`;
  await writeFile(join(dir, 'registry.yml'), config);
  const child = spawn('docker-registry', ['serve', join(dir, 'registry.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await issuer?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => stderr);
  } catch (e) {
    await stop();
    throw e;
  }

  const authHeaders = (repository: string): Record<string, string> =>
    issuer === undefined
      ? {}
      : { authorization: `Bearer ${issuer.token([`repository:${repository}:pull,push`])}` };

  const pushBlob = async (repository: string, content: Uint8Array): Promise<string> => {
    const digest = sha256(content);
    const start = await fetch(`${url}/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
      headers: authHeaders(repository),
    });
    const location = start.headers.get('location');
    if (start.status !== 202 || location === null) {
      throw new Error(`blob upload did not start: ${start.status} ${await start.text()}`);
    }
    const target = new URL(location, url);
    target.searchParams.set('digest', digest);
    const put = await fetch(target, {
      method: 'PUT',
      headers: { ...authHeaders(repository), 'content-type': 'application/octet-stream' },
      body: content,
    });
    if (put.status !== 201)
      throw new Error(`blob upload failed: ${put.status} ${await put.text()}`);
    return digest;
  };

  const pushManifest = async (
    repository: string,
    reference: string,
    manifest: Uint8Array,
    mediaType: string,
  ): Promise<string> => {
    const res = await fetch(`${url}/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { ...authHeaders(repository), 'content-type': mediaType },
      body: manifest,
    });
    if (res.status !== 201)
      throw new Error(`manifest push failed: ${res.status} ${await res.text()}`);
    return res.headers.get('docker-content-digest') ?? sha256(manifest);
  };

  const pushImage = async (
    repository: string,
    tag: string,
    config: object = { architecture: 'amd64', os: 'linux' },
  ): Promise<{ digest: string; manifest: Uint8Array }> => {
    const configBytes = Buffer.from(JSON.stringify(config));
    const layer = Buffer.concat([Buffer.from('\0asm\x01\0\0\0'), randomBytes(64)]);
    const manifestDoc = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: await pushBlob(repository, configBytes),
        size: configBytes.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.wasm.content.layer.v1+wasm',
          digest: await pushBlob(repository, layer),
          size: layer.length,
        },
      ],
      annotations: { 'org.opencontainers.image.title': `${repository}:${tag}` },
    };
    const manifest = Buffer.from(JSON.stringify(manifestDoc));
    const digest = await pushManifest(repository, tag, manifest, OCI_MANIFEST);
    return { digest, manifest };
  };

  return {
    host: `127.0.0.1:${port}`,
    url,
    tokensIssued: () => issuer?.issued() ?? 0,
    pushBlob,
    pushManifest,
    pushImage,
    stop,
  };
}
