import { PalisadeError } from '../shared/errors.js';

/** A user name and password (or token) for one registry, as `docker login` stores them. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Finds the credentials for a registry host (`ghcr.io`, `127.0.0.1:5000`), if any. */
export type CredentialLookup = (registry: string) => Credentials | undefined;

export interface Challenge {
  readonly scheme: 'basic' | 'bearer';
  /** Parameters with lower-cased names: realm, service, scope. */
  readonly params: Readonly<Record<string, string>>;
}

/** The first Basic or Bearer challenge of a `WWW-Authenticate` header. */
export function parseChallenge(value: string | undefined): Challenge | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(basic|bearer)\b\s*(.*)$/i.exec(value);
  if (match === null) return undefined;
  const params: Record<string, string> = {};
  for (const m of (match[2] ?? '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) {
    const key = m[1];
    if (key !== undefined) params[key.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return { scheme: (match[1] ?? '').toLowerCase() as Challenge['scheme'], params };
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** Docker Hub's credentials live under its historical index URL. */
const DOCKER_HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io'];

function hostOf(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

/**
 * Reads a Docker `config.json` (`docker login`, `kubectl create secret docker-registry`): the
 * `auths` entries with `auth` (base64 `user:password`) or `username`/`password`. Credential
 * helpers and stores (`credHelpers`, `credsStore`) are programs Palisade does not run: in a
 * cluster, credentials come from a mounted secret, which always carries `auths`.
 */
export function parseDockerConfig(text: string, where: string): CredentialLookup {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PalisadeError('config_invalid', `${where}: not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PalisadeError('config_invalid', `${where}: must be a JSON object`);
  }
  const auths: unknown = (doc as { auths?: unknown }).auths ?? {};
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) {
    throw new PalisadeError('config_invalid', `${where}: auths must be an object`);
  }
  const table = new Map<string, Credentials>();
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    const path = `${where}: auths[${JSON.stringify(key)}]`;
    if (typeof entry !== 'object' || entry === null) {
      throw new PalisadeError('config_invalid', `${path} must be an object`);
    }
    const { auth, username, password } = entry as Record<string, unknown>;
    let credentials: Credentials | undefined;
    if (typeof auth === 'string' && auth !== '') {
      const decoded = Buffer.from(auth, 'base64').toString();
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new PalisadeError('config_invalid', `${path}.auth is not user:password`);
      credentials = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    } else if (typeof username === 'string' && typeof password === 'string') {
      credentials = { username, password };
    }
    if (credentials === undefined) continue;
    const host = DOCKER_HUB_KEYS.includes(key) ? 'docker.io' : hostOf(key);
    table.set(host, credentials);
  }
  return (registry) => table.get(registry === 'registry-1.docker.io' ? 'docker.io' : registry);
}
