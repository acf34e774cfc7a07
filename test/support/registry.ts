import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { basicAuthorization } from './registry-http.js';
import {
  makeServerPki,
  makeTokenSigningKey,
  randomCredentials,
  writeHtpasswd,
  type Credentials,
  type ServerPki,
} from './registry-pki.js';
import {
  accessLog,
  registryConfig,
  settledCount,
  spawnRegistry,
  waitReady,
  type RegistryProcess,
} from './registry-process.js';
import { pushBlob, pushImage, pushManifest, type PushTarget } from './registry-push.js';
import { startTokenServer, type TokenServer } from './registry-token.js';

/**
 * A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution 2.8) on
 * 127.0.0.1 and a free port, with its own config, storage and (with TLS) its own CA in a
 * temporary directory, so clients are tested against distribution's own auth and TLS, not a
 * mock's idea of them.
 *
 * - `auth: 'none'`: anonymous.
 * - `auth: 'basic'`: htpasswd (bcrypt) with random credentials, always over TLS, because that
 *   is how real registries pair them.
 * - `auth: 'token'`: Bearer tokens from a token server in this process that signs ES256 JWTs
 *   with a certificate the registry trusts, so the whole 401 → token → retry flow runs.
 */
export interface TestRegistry {
  /** `127.0.0.1:<port>`, the registry part of image references. */
  readonly host: string;
  readonly scheme: 'http' | 'https';
  /** `<scheme>://127.0.0.1:<port>`. */
  readonly url: string;
  /** The CA that signed the server certificate (also the token server's); TLS only. */
  readonly caPem?: string;
  readonly caFile?: string;
  /** Accepted by the registry (basic) or by the token server (token). */
  readonly credentials?: Credentials;
  /** distribution's storage root; survives `restart()`. */
  readonly dataDir: string;
  /** How many tokens the token endpoint has issued (0 without token auth). */
  readonly tokensIssued: () => number;
  /** Where distribution keeps a blob's bytes, so a test can corrupt or truncate it. */
  blobPath(digest: string): string;
  /**
   * Token mode only: while on, the token endpoint answers 401 to everyone. The push helpers
   * mint their tokens directly, so fixtures can still be pushed.
   */
  refuseTokens(on: boolean): void;
  /**
   * HTTP requests the registry has logged so far (its readiness pings included), read from its
   * access log synchronously. Exact right after a response of up to ~5 KB, which distribution
   * logs before flushing; after a larger body (a module blob) the line can trail the last byte
   * by a few milliseconds, so compare counts around downloads with `settledRequests()`.
   */
  requests(): number;
  /**
   * `requests()` once the log has caught up: after a marked ping (not counted) has been logged
   * and 25 ms have passed without new lines. Throws if the registry never goes quiet.
   */
  settledRequests(): Promise<number>;
  /**
   * Stops the registry process and starts it again on the same port and storage; `whileDown`
   * runs in between, for tests that watch a client fail and then recover.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
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
  /** Final: stops the registry and the token server and deletes the storage. */
  stop(): Promise<void>;
}

export interface TestRegistryOptions {
  readonly auth?: 'none' | 'basic' | 'token';
  /** Serve https with a throwaway CA; forced on by `auth: 'basic'`. */
  readonly tls?: boolean;
}

const APT_ENSURE = fileURLToPath(new URL('../../scripts/apt-ensure.sh', import.meta.url));
const TOOLS = ['docker-registry', 'htpasswd', 'openssl'];

function onPath(tool: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => existsSync(join(dir, tool)));
}

function ensureInstalled(): void {
  if (TOOLS.every(onPath)) return;
  execFileSync('bash', [APT_ENSURE, 'apache2-utils', 'docker-registry', 'openssl'], {
    stdio: 'inherit',
  });
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

/** distribution's filesystem layout: `blobs/sha256/<2 hex>/<hex>/data` under its root. */
export function blobDataPath(dataDir: string, digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (match?.[1] === undefined) throw new Error(`not a sha256 digest: ${digest}`);
  const hex = match[1];
  return join(dataDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

interface Setup {
  readonly pki: ServerPki | undefined;
  readonly credentials: Credentials | undefined;
  readonly issuer: TokenServer | undefined;
  readonly configFile: string;
}

async function prepare(dir: string, port: number, options: TestRegistryOptions): Promise<Setup> {
  const auth = options.auth ?? 'none';
  const pki = options.tls === true || auth === 'basic' ? await makeServerPki(dir) : undefined;
  const credentials = auth === 'none' ? undefined : randomCredentials();
  const htpasswdFile = auth === 'basic' ? join(dir, 'htpasswd') : undefined;
  if (htpasswdFile !== undefined && credentials !== undefined) {
    await writeHtpasswd(htpasswdFile, credentials);
  }
  const signingKey = auth === 'token' ? await makeTokenSigningKey(dir) : undefined;
  const issuer =
    signingKey === undefined || credentials === undefined
      ? undefined
      : await startTokenServer({
          signingKey,
          credentials,
          ...(pki === undefined ? {} : { tls: { key: pki.keyPem, cert: pki.certPem } }),
        });
  const configFile = join(dir, 'registry.yml');
  const config = registryConfig({
    port,
    dataDir: join(dir, 'data'),
    pki,
    htpasswdFile,
    issuer,
    rootCertFile: signingKey?.certFile,
  });
  await writeFile(configFile, config);
  return { pki, credentials, issuer, configFile };
}

function pushAuthorization(setup: Setup): (repository: string) => string | undefined {
  const { issuer, credentials } = setup;
  if (issuer !== undefined) {
    return (repository) => `Bearer ${issuer.token([`repository:${repository}:pull,push`])}`;
  }
  if (credentials !== undefined) {
    const basic = basicAuthorization(credentials.username, credentials.password);
    return () => basic;
  }
  return () => undefined;
}

export async function startRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  ensureInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'palisade-registry-'));
  const port = await freePort();
  const logFile = join(dir, 'access.log');
  const access = accessLog(logFile);
  let setup: Setup;
  try {
    setup = await prepare(dir, port, options);
  } catch (e) {
    access.close();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const { pki, credentials, issuer } = setup;
  const scheme = pki === undefined ? 'http' : 'https';
  const url = `${scheme}://127.0.0.1:${port}`;
  const trust = pki === undefined ? {} : { ca: pki.caPem };
  let proc: RegistryProcess | undefined;
  const launch = async (): Promise<void> => {
    proc = spawnRegistry(setup.configFile, logFile);
    await waitReady(url, pki?.caPem, proc);
  };
  const stop = async (): Promise<void> => {
    await proc?.stop();
    access.close();
    await issuer?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await launch();
  } catch (e) {
    await stop();
    throw e;
  }
  const target: PushTarget = { url, ca: pki?.caPem, authorization: pushAuthorization(setup) };
  const dataDir = join(dir, 'data');
  return {
    host: `127.0.0.1:${port}`,
    scheme,
    url,
    ...(pki === undefined ? {} : { caPem: pki.caPem, caFile: pki.caFile }),
    ...(credentials === undefined ? {} : { credentials }),
    dataDir,
    tokensIssued: () => issuer?.issued() ?? 0,
    blobPath: (digest) => blobDataPath(dataDir, digest),
    refuseTokens: (on) => {
      if (issuer === undefined) throw new Error('refuseTokens needs auth: token');
      issuer.refuse(on);
    },
    requests: access.count,
    settledRequests: () => settledCount(access, url, trust),
    restart: async (whileDown) => {
      await proc?.stop();
      await whileDown?.();
      await launch();
    },
    pushBlob: (repository, content) => pushBlob(target, repository, content),
    pushManifest: (repository, reference, manifest, mediaType) =>
      pushManifest(target, repository, reference, manifest, mediaType),
    pushImage: (repository, tag, config) => pushImage(target, repository, tag, config),
    stop,
  };
}
