import { createHash } from 'node:crypto';
import { PalisadeError } from '../shared/errors.js';
import { basicAuthorization, parseChallenge, type CredentialLookup } from './auth.js';
import { Connections, type Request } from './connection.js';
import { describeFailure, header, type RegistryReply } from './http.js';
import {
  formatImageReference,
  manifestReference,
  registryEndpoint,
  type ImageReference,
} from './reference.js';
import type { RegistrySources } from './sources.js';

/** Manifest types a registry may answer with; distribution hides OCI manifests without them. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface RegistryClientOptions {
  readonly sources?: RegistrySources;
  readonly credentials?: CredentialLookup;
  /** Budget of one registry operation, all requests and retries included (default 30 s). */
  readonly timeoutMs?: number;
  /** Retries after a connection error, 429 or 5xx, with doubling back-off (default 3). */
  readonly retries?: number;
  /** First back-off in ms (default 250). */
  readonly backoffMs?: number;
  readonly now: () => number;
}

export type Access = 'pull' | 'pull,push';

export interface Manifest {
  /** sha256 of the bytes as served (never the header alone). */
  readonly digest: string;
  readonly body: Buffer;
  readonly mediaType: string | undefined;
}

/** A request to a registry, with what its auth scope is made of. */
interface Call extends Request {
  readonly registry: string;
  readonly repository: string;
  readonly access: Access;
}

const MAX_REDIRECTS = 5;

/**
 * The OCI distribution API for pulling and pushing policies: anonymous, Basic and Bearer auth
 * (per-scope token cache), Kubewarden's `sources.yml` rules (per-host CAs; insecure hosts
 * fall back to unverified TLS, then plain HTTP; loopback registries may use plain HTTP like
 * Docker allows), retries with back-off, and redirects that drop credentials when they leave
 * the registry's origin. Every failure is a PalisadeError naming registry, repository, status.
 */
export class RegistryClient {
  readonly #connections: Connections;
  readonly #credentials: CredentialLookup;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #tokens = new Map<string, { readonly token: string; readonly expires: number }>();
  readonly #basic = new Set<string>();

  constructor(options: RegistryClientOptions) {
    this.#credentials = options.credentials ?? (() => undefined);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#now = options.now;
    this.#connections = new Connections({ ...options, timeoutMs: this.#timeoutMs });
  }

  async #token(call: Call, params: Readonly<Record<string, string>>): Promise<string> {
    const scope = `repository:${call.repository}:${call.access}`;
    const realm = params['realm'];
    if (realm === undefined || realm === '') {
      throw new PalisadeError(
        'registry_request_failed',
        `registry ${call.registry} sent a Bearer challenge without realm`,
      );
    }
    const url = new URL(realm);
    if (
      url.protocol === 'http:' &&
      !this.#connections.isInsecure(call.registry) &&
      !this.#connections.isLoopback(call.registry)
    ) {
      throw new PalisadeError(
        'registry_request_failed',
        `refusing to fetch a registry token over plain http from ${url.host}`,
      );
    }
    if (params['service'] !== undefined) url.searchParams.append('service', params['service']);
    const scopes = new Set((params['scope'] ?? '').split(' ').filter((s) => s !== ''));
    scopes.add(scope);
    for (const s of scopes) url.searchParams.append('scope', s);
    const credentials = this.#credentials(call.registry);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (credentials !== undefined) headers['authorization'] = basicAuthorization(credentials);
    const reply = await this.#connections.send(url.host, {
      method: 'GET',
      target: url.href,
      headers,
      signal: call.signal,
    });
    if (reply.status !== 200) {
      throw new PalisadeError(
        'registry_request_failed',
        `the token service ${url.host} of registry ${call.registry} refused a${credentials === undefined ? 'n anonymous' : ''} token for ${[...scopes].join(' ')}: ${describeFailure(reply)}`,
      );
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(reply.body.toString()) as typeof body;
    } catch {
      throw new PalisadeError(
        'registry_request_failed',
        `the token service ${url.host} answered something that is not JSON: ${describeFailure(reply)}`,
      );
    }
    const token = body.token ?? body.access_token;
    if (token === undefined || token === '') {
      throw new PalisadeError(
        'registry_request_failed',
        `the token service ${url.host} answered without a token`,
      );
    }
    const ttl = Math.max((body.expires_in ?? 60) - 5, 1);
    this.#tokens.set(`${call.registry}|${scope}`, { token, expires: this.#now() + ttl * 1000 });
    return token;
  }

  #authorization(call: Call): string | undefined {
    const cached = this.#tokens.get(
      `${call.registry}|repository:${call.repository}:${call.access}`,
    );
    if (cached !== undefined && cached.expires > this.#now()) return `Bearer ${cached.token}`;
    const credentials = this.#credentials(call.registry);
    if (this.#basic.has(call.registry) && credentials !== undefined) {
      return basicAuthorization(credentials);
    }
    return undefined;
  }

  /** A request with cached auth, answering one challenge (Basic or Bearer) when refused. */
  async #authorized(call: Call): Promise<RegistryReply> {
    const headers: Record<string, string> = { ...call.headers };
    const cached = this.#authorization(call);
    if (cached !== undefined) headers['authorization'] = cached;
    let reply = await this.#connections.send(call.registry, { ...call, headers });
    if (reply.status === 401) {
      const challenge = parseChallenge(header(reply.headers, 'www-authenticate'));
      if (challenge?.scheme === 'basic') {
        const credentials = this.#credentials(call.registry);
        if (credentials === undefined) {
          throw new PalisadeError(
            'registry_request_failed',
            `registry ${call.registry} asks for a user name and password (repository ${call.repository}) and none are configured for it (docker config.json)`,
          );
        }
        this.#basic.add(call.registry);
        headers['authorization'] = basicAuthorization(credentials);
      } else if (challenge?.scheme === 'bearer') {
        headers['authorization'] = `Bearer ${await this.#token(call, challenge.params)}`;
      } else {
        throw this.#failed(call, reply, 'refused the request');
      }
      reply = await this.#connections.send(call.registry, { ...call, headers });
      if (reply.status === 401 || reply.status === 403) {
        throw this.#failed(call, reply, 'refused the credentials');
      }
    }
    return this.#followRedirects(call, reply, headers);
  }

  #failed(call: Call, reply: RegistryReply, what: string): PalisadeError {
    return new PalisadeError(
      'registry_request_failed',
      `registry ${call.registry} ${what} for repository ${call.repository}: ${describeFailure(reply)}`,
    );
  }

  async #followRedirects(
    call: Call,
    first: RegistryReply,
    headers: Record<string, string>,
  ): Promise<RegistryReply> {
    let reply = first;
    for (
      let hop = 0;
      hop < MAX_REDIRECTS && [301, 302, 303, 307, 308].includes(reply.status);
      hop++
    ) {
      const location = header(reply.headers, 'location');
      if (location === undefined) break;
      const from = new URL(reply.url);
      const to = new URL(location, from);
      const sameOrigin = to.origin === from.origin;
      if (to.protocol === 'http:' && !sameOrigin && !this.#connections.isInsecure(to.host)) {
        throw new PalisadeError(
          'registry_request_failed',
          `registry ${call.registry} redirected to plain http (${to.host})`,
        );
      }
      const next = sameOrigin ? headers : { accept: headers['accept'] ?? '*/*' };
      reply = await this.#connections.send(to.host, { ...call, target: to.href, headers: next });
    }
    return reply;
  }

  #signal(): AbortSignal {
    return AbortSignal.timeout(this.#timeoutMs);
  }

  #call(
    ref: ImageReference,
    access: Access,
    rest: Omit<Call, 'registry' | 'repository' | 'access' | 'signal'>,
  ): Call {
    return {
      registry: registryEndpoint(ref),
      repository: ref.repository,
      access,
      signal: this.#signal(),
      ...rest,
    };
  }

  /**
   * The manifest bytes and their digest (sha256 of the bytes, never the header alone), checked
   * against the reference's digest when pinned. HEAD asks only for the digest.
   */
  async manifest(ref: ImageReference, method: 'HEAD' | 'GET' = 'GET'): Promise<Manifest> {
    const found = await this.#manifest(ref, method, false);
    if (found === undefined) throw new Error('unreachable: a missing manifest throws');
    return found;
  }

  /** Like `manifest`, but undefined when the registry does not have it (404). */
  findManifest(ref: ImageReference): Promise<Manifest | undefined> {
    return this.#manifest(ref, 'GET', true);
  }

  async #manifest(
    ref: ImageReference,
    method: 'HEAD' | 'GET',
    missingIsUndefined: boolean,
  ): Promise<Manifest | undefined> {
    const target = `/v2/${ref.repository}/manifests/${manifestReference(ref)}`;
    if (method === 'HEAD') {
      const head = await this.#authorized(
        this.#call(ref, 'pull', { method: 'HEAD', target, headers: { accept: MANIFEST_ACCEPT } }),
      );
      const digest = header(head.headers, 'docker-content-digest');
      if (head.status === 200 && digest !== undefined) {
        return { digest, body: Buffer.alloc(0), mediaType: header(head.headers, 'content-type') };
      }
      // Otherwise GET: a HEAD answer has no body to explain the failure.
    }
    const algorithm = ref.digest?.split(':')[0] ?? 'sha256';
    const get = await this.#authorized(
      this.#call(ref, 'pull', {
        method: 'GET',
        target,
        headers: { accept: MANIFEST_ACCEPT },
        hash: algorithm,
      }),
    );
    if (get.status === 404 && missingIsUndefined) return undefined;
    if (get.status !== 200) throw this.#unknown(ref, get);
    const digest =
      get.digest ?? `${algorithm}:${createHash(algorithm).update(get.body).digest('hex')}`;
    if (ref.digest !== undefined && ref.digest !== digest) {
      throw new PalisadeError(
        'artifact_invalid',
        `registry ${ref.registry} answered ${formatImageReference(ref)} with a manifest of digest ${digest}`,
      );
    }
    return { digest, body: get.body, mediaType: header(get.headers, 'content-type') };
  }

  #unknown(ref: ImageReference, reply: RegistryReply): PalisadeError {
    return new PalisadeError(
      'registry_request_failed',
      `cannot fetch the manifest of ${formatImageReference(ref)} from registry ${ref.registry}, repository ${ref.repository}: ${describeFailure(reply)}`,
    );
  }

  /**
   * A blob's bytes, hashed as they arrive and rejected when the digest or the expected size
   * does not match, so a corrupt or truncated download never reaches a cache.
   */
  async blob(ref: ImageReference, digest: string, expectedSize?: number): Promise<Buffer> {
    const [algorithm = 'sha256'] = digest.split(':');
    const reply = await this.#authorized(
      this.#call(ref, 'pull', {
        method: 'GET',
        target: `/v2/${ref.repository}/blobs/${digest}`,
        headers: { accept: '*/*' },
        hash: algorithm,
        maxBody: Math.max(expectedSize ?? 0, 8 * 1024 * 1024) + 1,
      }),
    );
    if (reply.status !== 200) {
      throw new PalisadeError(
        'registry_request_failed',
        `cannot fetch blob ${digest} of ${formatImageReference(ref)} from registry ${ref.registry}: ${describeFailure(reply)}`,
      );
    }
    if (expectedSize !== undefined && reply.body.length !== expectedSize) {
      throw new PalisadeError(
        'artifact_invalid',
        `blob ${digest} of ${formatImageReference(ref)} is ${reply.body.length} bytes, its manifest says ${expectedSize}`,
      );
    }
    if (reply.digest !== digest) {
      throw new PalisadeError(
        'artifact_invalid',
        `blob ${digest} of ${formatImageReference(ref)} has digest ${reply.digest ?? 'unknown'}: corrupt download or tampered registry`,
      );
    }
    return reply.body;
  }

  /** Uploads a blob unless the repository has it: POST then PUT (distribution ignores monolithic POSTs). */
  async pushBlob(ref: ImageReference, content: Uint8Array): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const exists = await this.#authorized(
      this.#call(ref, 'pull,push', {
        method: 'HEAD',
        target: `/v2/${ref.repository}/blobs/${digest}`,
        headers: {},
      }),
    );
    if (exists.status === 200) return digest;
    const start = await this.#authorized(
      this.#call(ref, 'pull,push', {
        method: 'POST',
        target: `/v2/${ref.repository}/blobs/uploads/`,
        headers: { 'content-length': '0' },
      }),
    );
    const location = header(start.headers, 'location');
    if (start.status !== 202 || location === undefined) {
      throw this.#pushFailed(ref, 'could not start a blob upload', start);
    }
    const base = new URL(start.url);
    const target = new URL(location, base);
    target.searchParams.set('digest', digest);
    const put = await this.#authorized(
      this.#call(ref, 'pull,push', {
        method: 'PUT',
        target: target.href,
        headers: { 'content-type': 'application/octet-stream' },
        body: content,
      }),
    );
    if (put.status !== 201) throw this.#pushFailed(ref, `refused blob ${digest}`, put);
    return digest;
  }

  /** Puts a manifest under a tag or digest; its digest (sha256 of the bytes we sent). */
  async pushManifest(
    ref: ImageReference,
    reference: string,
    manifest: Uint8Array,
    mediaType: string,
  ): Promise<string> {
    const put = await this.#authorized(
      this.#call(ref, 'pull,push', {
        method: 'PUT',
        target: `/v2/${ref.repository}/manifests/${reference}`,
        headers: { 'content-type': mediaType },
        body: manifest,
      }),
    );
    if (put.status !== 201) throw this.#pushFailed(ref, `refused the manifest ${reference}`, put);
    return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  }

  #pushFailed(ref: ImageReference, what: string, reply: RegistryReply): PalisadeError {
    return new PalisadeError(
      'registry_request_failed',
      `registry ${ref.registry} ${what} (repository ${ref.repository}): ${describeFailure(reply)}`,
    );
  }

  /** Kubewarden's `https://` module URLs, with the host's CA from `source_authorities`. */
  download(url: URL, maxBody: number): Promise<{ body: Buffer; digest: string }> {
    return this.#connections.download(url, maxBody, this.#signal());
  }
}
