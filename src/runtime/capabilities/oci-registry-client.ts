import { createHash } from 'node:crypto';
import { errorMessage } from '../../shared/errors.js';
import {
  formatImageReference,
  manifestReference,
  registryEndpoint,
  type ImageReference,
} from './oci-reference.js';
import {
  describeFailure,
  header,
  httpRequest,
  parseBearerChallenge,
  type RegistryReply,
  type Transport,
} from './oci-http.js';

/** Manifest types a registry may answer with; distribution hides OCI manifests without them. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface RegistryClientOptions {
  /**
   * `host[:port]` of registries that may be reached without verified TLS (Kubewarden's
   * `insecure_sources`): tried over https, then https without verification, then plain http.
   * Loopback registries (localhost, 127.0.0.1, ::1) are always treated this way.
   */
  readonly insecureRegistries?: readonly string[];
  /** Extra PEM CAs trusted for registry TLS (Kubewarden's `source_authorities`). */
  readonly ca?: readonly string[];
  /** Budget of one registry operation, all requests and retries included (default 30 s). */
  readonly timeoutMs?: number;
  readonly now: () => number;
}

const MAX_REDIRECTS = 5;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostnameOf(registry: string): string {
  return registry.startsWith('[')
    ? registry.slice(0, registry.indexOf(']') + 1)
    : (registry.split(':')[0] ?? '');
}

/**
 * Just enough of the OCI distribution API for host capabilities: anonymous pulls of manifests
 * and blobs with the Bearer token dance, Kubewarden's insecure-source fallback, and redirects
 * that drop credentials when they leave the registry's origin.
 */
export class RegistryClient {
  readonly #insecure: ReadonlySet<string>;
  readonly #ca: readonly string[] | undefined;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #transports = new Map<string, Transport>();
  readonly #tokens = new Map<string, { readonly token: string; readonly expires: number }>();

  constructor(options: RegistryClientOptions) {
    this.#insecure = new Set(options.insecureRegistries ?? []);
    this.#ca = options.ca;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#now = options.now;
  }

  #http(
    method: string,
    url: URL,
    headers: Record<string, string>,
    transport: Transport,
    signal: AbortSignal,
  ): Promise<RegistryReply> {
    return httpRequest(method, url, headers, transport, { ca: this.#ca, signal });
  }

  #isInsecure(registry: string): boolean {
    return (
      this.#insecure.has(registry) ||
      this.#insecure.has(hostnameOf(registry)) ||
      LOOPBACK.has(hostnameOf(registry))
    );
  }

  /** One request to the registry, over the first transport that connects (remembered after). */
  async #send(
    registry: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<RegistryReply> {
    const known = this.#transports.get(registry);
    const candidates: Transport[] =
      known !== undefined
        ? [known]
        : this.#isInsecure(registry)
          ? [
              { scheme: 'https', verify: true },
              { scheme: 'https', verify: false },
              { scheme: 'http' },
            ]
          : [{ scheme: 'https', verify: true }];
    let lastError: unknown;
    for (const transport of candidates) {
      const url = new URL(`${transport.scheme}://${registry}${path}`);
      try {
        const reply = await this.#http(method, url, headers, transport, signal);
        this.#transports.set(registry, transport);
        return reply;
      } catch (e) {
        if (signal.aborted) throw e;
        lastError = e;
      }
    }
    throw new Error(`cannot reach registry ${registry}: ${errorMessage(lastError)}`, {
      cause: lastError,
    });
  }

  async #token(
    registry: string,
    challenge: Record<string, string>,
    scope: string,
    signal: AbortSignal,
  ): Promise<string> {
    const realm = challenge['realm'];
    if (realm === undefined || realm === '')
      throw new Error(`registry ${registry} sent a Bearer challenge without realm`);
    const url = new URL(realm);
    if (url.protocol === 'http:' && !this.#isInsecure(registry)) {
      throw new Error(`refusing to fetch a registry token over plain http from ${url.host}`);
    }
    if (challenge['service'] !== undefined)
      url.searchParams.append('service', challenge['service']);
    for (const s of (challenge['scope'] ?? scope).split(' ').filter((s) => s !== '')) {
      url.searchParams.append('scope', s);
    }
    const transport: Transport =
      url.protocol === 'http:' ? { scheme: 'http' } : { scheme: 'https', verify: true };
    const reply = await this.#http('GET', url, { accept: 'application/json' }, transport, signal);
    if (reply.status !== 200) {
      throw new Error(
        `token server ${url.host} refused an anonymous token: ${describeFailure(reply)}`,
      );
    }
    const body = JSON.parse(reply.body.toString()) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = body.token ?? body.access_token;
    if (token === undefined || token === '')
      throw new Error(`token server ${url.host} answered without a token`);
    const ttl = Math.max((body.expires_in ?? 60) - 5, 1);
    this.#tokens.set(`${registry}|${scope}`, { token, expires: this.#now() + ttl * 1000 });
    return token;
  }

  /** A request with the cached token, re-authenticating once on a Bearer challenge. */
  async #authorized(
    registry: string,
    repository: string,
    method: string,
    path: string,
    accept: string,
    signal: AbortSignal,
  ): Promise<RegistryReply> {
    const scope = `repository:${repository}:pull`;
    const cached = this.#tokens.get(`${registry}|${scope}`);
    const headers: Record<string, string> = { accept };
    if (cached !== undefined && cached.expires > this.#now())
      headers['authorization'] = `Bearer ${cached.token}`;
    let reply = await this.#send(registry, method, path, headers, signal);
    if (reply.status === 401) {
      const challenge = parseBearerChallenge(header(reply.headers, 'www-authenticate'));
      if (challenge === undefined) {
        throw new Error(
          `registry ${registry} requires credentials; host capabilities pull anonymously`,
        );
      }
      headers['authorization'] = `Bearer ${await this.#token(registry, challenge, scope, signal)}`;
      reply = await this.#send(registry, method, path, headers, signal);
    }
    return this.#followRedirects(registry, method, reply, headers, signal);
  }

  async #followRedirects(
    registry: string,
    method: string,
    first: RegistryReply,
    headers: Record<string, string>,
    signal: AbortSignal,
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
      const next: Record<string, string> = sameOrigin
        ? headers
        : { accept: headers['accept'] ?? '*/*' };
      const known = this.#transports.get(registry);
      const transport: Transport =
        to.protocol === 'http:'
          ? { scheme: 'http' }
          : {
              scheme: 'https',
              verify: sameOrigin && known?.scheme === 'https' ? known.verify : true,
            };
      if (to.protocol === 'http:' && !this.#isInsecure(to.host)) {
        throw new Error(`refusing a redirect to plain http (${to.host})`);
      }
      reply = await this.#http(method, to, next, transport, signal);
    }
    return reply;
  }

  #signal(): AbortSignal {
    return AbortSignal.timeout(this.#timeoutMs);
  }

  /** The manifest bytes and their digest, checked against the reference's digest when pinned. */
  async manifest(
    ref: ImageReference,
    method: 'HEAD' | 'GET' = 'GET',
  ): Promise<{ digest: string; body: Buffer; mediaType: string | undefined }> {
    const registry = registryEndpoint(ref);
    const path = `/v2/${ref.repository}/manifests/${manifestReference(ref)}`;
    const signal = this.#signal();
    let digest: string | undefined;
    let body: Buffer = Buffer.alloc(0);
    let mediaType: string | undefined;
    if (method === 'HEAD') {
      const head = await this.#authorized(
        registry,
        ref.repository,
        'HEAD',
        path,
        MANIFEST_ACCEPT,
        signal,
      );
      if (head.status === 200) digest = header(head.headers, 'docker-content-digest');
    }
    if (digest === undefined) {
      const get = await this.#authorized(
        registry,
        ref.repository,
        'GET',
        path,
        MANIFEST_ACCEPT,
        signal,
      );
      if (get.status !== 200) {
        throw new Error(
          `cannot fetch the manifest of ${formatImageReference(ref)}: ${describeFailure(get)}`,
        );
      }
      body = get.body;
      mediaType = header(get.headers, 'content-type');
      const algorithm = ref.digest?.split(':')[0] ?? 'sha256';
      digest = `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
    }
    if (ref.digest !== undefined && ref.digest !== digest) {
      throw new Error(
        `the registry answered ${formatImageReference(ref)} with a manifest of digest ${digest}`,
      );
    }
    return { digest, body, mediaType };
  }

  /** A blob's bytes (configs are small JSON documents), verified against its digest. */
  async blob(ref: ImageReference, digest: string): Promise<Buffer> {
    const registry = registryEndpoint(ref);
    const reply = await this.#authorized(
      registry,
      ref.repository,
      'GET',
      `/v2/${ref.repository}/blobs/${digest}`,
      '*/*',
      this.#signal(),
    );
    if (reply.status !== 200) {
      throw new Error(
        `cannot fetch blob ${digest} of ${formatImageReference(ref)}: ${describeFailure(reply)}`,
      );
    }
    const [algorithm = 'sha256'] = digest.split(':');
    const actual = `${algorithm}:${createHash(algorithm).update(reply.body).digest('hex')}`;
    if (actual !== digest)
      throw new Error(`blob ${digest} of ${formatImageReference(ref)} has digest ${actual}`);
    return reply.body;
  }
}
