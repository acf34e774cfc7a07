import { randomBytes, sign, timingSafeEqual } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { basicAuthorization } from './registry-http.js';
import type { Credentials, TokenSigningKey } from './registry-pki.js';

export const TOKEN_SERVICE = 'palisade-test-registry';
export const TOKEN_ISSUER = 'palisade-test-issuer';

export interface TokenServer {
  /** The URL distribution names in its `WWW-Authenticate: Bearer realm=…` challenge. */
  readonly realm: string;
  /** Tokens handed out by the endpoint; tokens minted directly with `token()` do not count. */
  readonly issued: () => number;
  /** A token for these scopes, as the endpoint would issue it. */
  readonly token: (scopes: readonly string[], subject?: string) => string;
  /** While on, every request to the endpoint gets 401, whatever its credentials. */
  readonly refuse: (on: boolean) => void;
  readonly close: () => Promise<void>;
}

export interface TokenServerOptions {
  readonly signingKey: TokenSigningKey;
  readonly credentials: Credentials;
  /** Serve the endpoint over https with this key pair, as the registry does with TLS on. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** `repository:a/b:pull,push` → distribution's `access` claim entry. */
function accessEntry(scope: string): { type: string; name: string; actions: string[] } {
  const parts = scope.split(':');
  const actions = (parts.pop() ?? '').split(',');
  const [type = '', ...name] = parts;
  return { type, name: name.join(':'), actions };
}

/** distribution's token format: ES256 JWT, `x5c` chained to `rootcertbundle`, `access` claims. */
function signToken(key: TokenSigningKey, scopes: readonly string[], subject: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'ES256', x5c: [key.certDer] };
  const claims = {
    iss: TOKEN_ISSUER,
    sub: subject,
    aud: TOKEN_SERVICE,
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomBytes(8).toString('hex'),
    access: scopes.map(accessEntry),
  };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: key.keyPem,
    dsaEncoding: 'ieee-p1363',
  });
  return `${input}.${base64url(signature)}`;
}

/**
 * Clients put each scope in its own `scope=` parameter, but a challenge for a cross-repository
 * mount carries two space-separated scopes in one, and a client that forwards it verbatim must
 * still get both.
 */
export function requestedScopes(url: URL): string[] {
  return url.searchParams
    .getAll('scope')
    .flatMap((scope) => scope.split(' '))
    .filter((scope) => scope !== '');
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function reject(res: ServerResponse, status: number, code: string, message: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ errors: [{ code, message }] }));
}

/**
 * Anonymous requests get a token for whatever they ask (the registry is then the only judge of
 * scopes); a request that does send credentials must send the right ones, so a client that
 * mangles them is caught rather than silently downgraded to anonymous.
 */
export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  let issued = 0;
  let refusing = false;
  const expected = basicAuthorization(options.credentials.username, options.credentials.password);
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET') {
      reject(res, 405, 'UNSUPPORTED', 'only the GET token flow is implemented');
      return;
    }
    if (refusing) {
      reject(res, 401, 'UNAUTHORIZED', 'token issuance is switched off (refuseTokens)');
      return;
    }
    const authorization = req.headers.authorization;
    if (authorization !== undefined && !sameSecret(authorization, expected)) {
      reject(res, 401, 'UNAUTHORIZED', 'invalid username or password');
      return;
    }
    const subject = authorization === undefined ? '' : options.credentials.username;
    const token = signToken(
      options.signingKey,
      requestedScopes(new URL(req.url ?? '/', 'http://x')),
      subject,
    );
    issued++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  };
  const server =
    options.tls === undefined ? createHttpServer(handle) : createHttpsServer(options.tls, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    realm: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/token`,
    issued: () => issued,
    token: (scopes, subject = '') => signToken(options.signingKey, scopes, subject),
    refuse: (on) => {
      refusing = on;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
