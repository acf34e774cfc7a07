import { createHash, type Hash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';

/** A whole, size-capped HTTP reply: registry documents and policy modules fit in memory. */
export interface RegistryReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly url: string;
  /** `algorithm:hex` of the body, computed while it arrived (when asked for). */
  readonly digest?: string;
}

/** How a registry is reached; `verify: false` only ever for registries listed as insecure. */
export type Transport =
  { readonly scheme: 'https'; readonly verify: boolean } | { readonly scheme: 'http' };

export interface RequestOptions {
  readonly ca: readonly string[] | undefined;
  readonly signal: AbortSignal;
  readonly body?: Uint8Array;
  /** Replies longer than this are cut off with an error (default 8 MiB, documents). */
  readonly maxBody?: number;
  /** Hash the body while it streams in, so a blob is never hashed in a second pass. */
  readonly hash?: string;
}

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;

/** TLS failures after a handshake started: the server speaks TLS, plain HTTP will not help. */
const CERTIFICATE_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function isCertificateError(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && CERTIFICATE_ERRORS.has(code);
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)` from an OCI error body, or what the body is. */
export function describeFailure(reply: RegistryReply): string {
  const text = reply.body.toString();
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const errors = (body.errors ?? []).map((e) => `${e.code ?? 'ERROR'}: ${e.message ?? ''}`);
    if (errors.length > 0) return `HTTP ${reply.status} (${errors.join('; ')})`;
  } catch {
    // Not an OCI error body; say what it looks like.
  }
  const type = header(reply.headers, 'content-type') ?? '';
  if (type.includes('html') || /^\s*<(!doctype|html)/i.test(text)) {
    return `HTTP ${reply.status} with an HTML page (not an OCI registry answer)`;
  }
  return `HTTP ${reply.status}`;
}

/**
 * One request over node:http(s) rather than fetch: per-registry TLS verification and extra CAs
 * need an agent option that the global fetch does not expose without undici as a dependency.
 * Extra CAs are added to Node's roots, never replace them.
 */
export function httpRequest(
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  transport: Transport,
  options: RequestOptions,
): Promise<RegistryReply> {
  const lib = transport.scheme === 'https' ? https : http;
  const tlsOptions =
    transport.scheme === 'https'
      ? {
          rejectUnauthorized: transport.verify,
          ...(options.ca === undefined || options.ca.length === 0
            ? {}
            : { ca: [...rootCertificates, ...options.ca] }),
        }
      : {};
  const maxBody = options.maxBody ?? DEFAULT_MAX_BODY;
  const requestHeaders: Record<string, string> = { ...headers };
  if (options.body !== undefined) requestHeaders['content-length'] = String(options.body.length);
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      { method, headers: requestHeaders, signal: options.signal, ...tlsOptions },
      (res) => {
        const chunks: Buffer[] = [];
        const hash: Hash | undefined =
          options.hash === undefined ? undefined : createHash(options.hash);
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBody) {
            req.destroy(new Error(`the answer from ${url.host} exceeds ${maxBody} bytes`));
            return;
          }
          hash?.update(chunk);
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            url: url.href,
            ...(hash === undefined ? {} : { digest: `${options.hash}:${hash.digest('hex')}` }),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
