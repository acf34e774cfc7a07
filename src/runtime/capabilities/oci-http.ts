import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';

/** A whole, size-capped HTTP reply: registry documents are small, and fit in memory. */
export interface RegistryReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly url: string;
}

/** How a registry is reached; `verify: false` only ever for insecure (or loopback) registries. */
export type Transport =
  { readonly scheme: 'https'; readonly verify: boolean } | { readonly scheme: 'http' };

const MAX_BODY = 8 * 1024 * 1024;

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The parameters of a Bearer challenge in a `WWW-Authenticate` header, lower-cased names. */
export function parseBearerChallenge(
  value: string | undefined,
): Record<string, string> | undefined {
  if (value === undefined || !/^\s*bearer\s/i.test(value)) return undefined;
  const params: Record<string, string> = {};
  const rest = value.replace(/^\s*bearer\s+/i, '');
  for (const m of rest.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) {
    const key = m[1];
    if (key !== undefined) params[key.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return params;
}

/** `HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)` from an OCI error body, or the bare status. */
export function describeFailure(reply: RegistryReply): string {
  try {
    const body = JSON.parse(reply.body.toString()) as {
      errors?: { code?: string; message?: string }[];
    };
    const errors = (body.errors ?? []).map((e) => `${e.code ?? 'ERROR'}: ${e.message ?? ''}`);
    if (errors.length > 0) return `HTTP ${reply.status} (${errors.join('; ')})`;
  } catch {
    // Not an OCI error body; the status says enough.
  }
  return `HTTP ${reply.status}`;
}

/**
 * One request over node:http(s) rather than fetch: per-request TLS verification and extra CAs
 * need an agent option that the global fetch does not expose without undici as a dependency.
 * Extra CAs are added to Node's roots, never replace them.
 */
export function httpRequest(
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  transport: Transport,
  options: { readonly ca: readonly string[] | undefined; readonly signal: AbortSignal },
): Promise<RegistryReply> {
  const lib = transport.scheme === 'https' ? https : http;
  const tlsOptions =
    transport.scheme === 'https'
      ? {
          rejectUnauthorized: transport.verify,
          ...(options.ca === undefined ? {} : { ca: [...rootCertificates, ...options.ca] }),
        }
      : {};
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      { method, headers: { ...headers }, signal: options.signal, ...tlsOptions },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) {
            req.destroy(new Error(`response from ${url.host} exceeds ${MAX_BODY} bytes`));
          } else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            url: url.href,
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
