import { PalisadeError, errorMessage } from '../shared/errors.js';
import {
  describeFailure,
  httpRequest,
  isCertificateError,
  type RegistryReply,
  type Transport,
} from './http.js';
import { NO_SOURCES, type RegistrySources } from './sources.js';

/** One HTTP exchange, before any registry auth is added. */
export interface Request {
  readonly method: string;
  /** A path below the host (`/v2/…`) or an absolute URL (upload locations, token realms). */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  readonly maxBody?: number;
  readonly hash?: string;
  readonly signal: AbortSignal;
}

export interface ConnectionOptions {
  readonly sources?: RegistrySources;
  readonly retries?: number;
  readonly backoffMs?: number;
  readonly timeoutMs: number;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

export function hostnameOf(registry: string): string {
  return registry.startsWith('[')
    ? registry.slice(0, registry.indexOf(']') + 1)
    : (registry.split(':')[0] ?? '');
}

/** TLS spoken to a plain-HTTP server (or the reverse): retrying cannot help. */
function isTlsMismatch(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return code === 'EPROTO' || (typeof code === 'string' && code.startsWith('ERR_SSL'));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * How hosts are reached, following Kubewarden's `sources.yml`: HTTPS with the host's extra CAs;
 * hosts listed as insecure fall back to unverified TLS, then plain HTTP; loopback hosts may use
 * plain HTTP, as Docker allows. The transport that worked is remembered per host.
 */
export class Connections {
  readonly #sources: RegistrySources;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #timeoutMs: number;
  readonly #transports = new Map<string, Transport>();

  constructor(options: ConnectionOptions) {
    this.#sources = options.sources ?? NO_SOURCES;
    this.#retries = options.retries ?? 3;
    this.#backoffMs = options.backoffMs ?? 250;
    this.#timeoutMs = options.timeoutMs;
  }

  isLoopback(host: string): boolean {
    return LOOPBACK.has(hostnameOf(host));
  }

  isInsecure(host: string): boolean {
    const { insecure } = this.#sources;
    return insecure.includes(host) || insecure.includes(hostnameOf(host));
  }

  caFor(host: string): readonly string[] | undefined {
    const { authorities } = this.#sources;
    return authorities[host] ?? authorities[hostnameOf(host)];
  }

  /** The transports to try for a host, most secure first. */
  #candidates(host: string): Transport[] {
    if (this.isInsecure(host)) {
      return [
        { scheme: 'https', verify: true },
        { scheme: 'https', verify: false },
        { scheme: 'http' },
      ];
    }
    if (this.isLoopback(host)) return [{ scheme: 'https', verify: true }, { scheme: 'http' }];
    return [{ scheme: 'https', verify: true }];
  }

  /** One request to a host over the first transport that connects (remembered after). */
  async #connect(host: string, call: Request): Promise<RegistryReply> {
    const absolute = /^https?:\/\//.test(call.target);
    const known = this.#transports.get(host);
    let candidates = known !== undefined ? [known] : this.#candidates(host);
    if (absolute) {
      // A full URL (upload location, token realm, download) fixes the scheme.
      const scheme = call.target.startsWith('https:') ? 'https' : 'http';
      candidates = candidates.filter((t) => t.scheme === scheme);
      if (candidates.length === 0) {
        candidates = scheme === 'http' ? [{ scheme }] : [{ scheme, verify: true }];
      }
    }
    let firstError: unknown;
    for (const transport of candidates) {
      if (transport.scheme === 'http' && isCertificateError(firstError)) break;
      const url = absolute
        ? new URL(call.target)
        : new URL(`${transport.scheme}://${host}${call.target}`);
      try {
        const reply = await httpRequest(call.method, url, call.headers, transport, {
          ca: this.caFor(host),
          signal: call.signal,
          ...(call.body !== undefined ? { body: call.body } : {}),
          ...(call.maxBody !== undefined ? { maxBody: call.maxBody } : {}),
          ...(call.hash !== undefined ? { hash: call.hash } : {}),
        });
        this.#transports.set(host, transport);
        return reply;
      } catch (e) {
        if (call.signal.aborted) throw e;
        firstError ??= e;
      }
    }
    throw firstError;
  }

  /**
   * `#connect` with retries on connection errors, 429 and 5xx. A host that cannot be reached or
   * keeps failing is `registry_unreachable`, which callers may answer from a cache.
   */
  async send(host: string, call: Request): Promise<RegistryReply> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (attempt > 0) await sleep(this.#backoffMs * 2 ** (attempt - 1), call.signal);
      if (call.signal.aborted) break;
      try {
        const reply = await this.#connect(host, call);
        if (!RETRY_STATUS.has(reply.status)) return reply;
        lastError = new Error(`it keeps failing: ${describeFailure(reply)}`);
      } catch (e) {
        lastError = e;
        if (isCertificateError(e) || isTlsMismatch(e)) break;
      }
    }
    throw new PalisadeError('registry_unreachable', this.#unreachable(host, lastError, call), {
      cause: lastError,
    });
  }

  #unreachable(host: string, e: unknown, call: { signal: AbortSignal }): string {
    if (call.signal.aborted) return `${host} did not answer within ${this.#timeoutMs} ms`;
    if (isCertificateError(e)) {
      return `the TLS certificate of ${host} is not trusted (${errorMessage(e)}): add its CA to source_authorities, or list the host in insecure_sources`;
    }
    return `cannot reach ${host}: ${errorMessage(e)}`;
  }

  /**
   * A plain `https://` (or, for insecure hosts only, `http://`) download with the host's CAs,
   * hashed as it arrives.
   */
  async download(
    url: URL,
    maxBody: number,
    signal: AbortSignal,
  ): Promise<{ body: Buffer; digest: string }> {
    if (url.protocol === 'http:' && !this.isInsecure(url.host)) {
      throw new PalisadeError(
        'reference_invalid',
        `${url.href}: plain http is only allowed for hosts listed in insecure_sources`,
      );
    }
    const reply = await this.send(url.host, {
      method: 'GET',
      target: url.href,
      headers: { accept: '*/*' },
      signal,
      maxBody,
      hash: 'sha256',
    });
    if (reply.status !== 200) {
      throw new PalisadeError(
        'registry_request_failed',
        `cannot download ${url.href}: ${describeFailure(reply)}`,
      );
    }
    return { body: reply.body, digest: reply.digest ?? '' };
  }
}
