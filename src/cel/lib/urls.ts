import type { Environment } from '@marcbachmann/cel-js';
import {
  escapedPath,
  hostname,
  parseRequestURI,
  parseURL,
  port,
  query,
  type GoURL,
} from './gourl.js';
import { celError, fn, type CelComparable } from './values.js';

export class URL implements CelComparable {
  constructor(
    readonly raw: string,
    readonly url: GoURL,
  ) {}

  celEquals(other: unknown): boolean {
    return other instanceof URL && other.raw === this.raw;
  }
}

/**
 * Kubernetes `url()`: validated with `ParseRequestURI` (absolute URI or absolute path), then
 * kept as `Parse` reads it so a `#fragment` does not leak into the path or query.
 */
function toURL(s: string): URL {
  try {
    parseRequestURI(s);
    return new URL(s, parseURL(s));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw celError(`URL parse error during conversion from string: ${reason}`);
  }
}

function isURL(s: string): boolean {
  try {
    parseRequestURI(s);
    return true;
  } catch {
    return false;
  }
}

const U = 'kubernetes.URL';

/** Kubernetes URL library. */
export function registerUrlsLibrary(env: Environment): void {
  env.registerType(U, URL);
  env.registerOperator(`${U} == ${U}`, (a: URL, b: URL) => a.celEquals(b));
  fn(env, `url(string): ${U}`, toURL);
  fn(env, 'isURL(string): bool', isURL);
  fn(env, `${U}.getScheme(): string`, (u: URL) => u.url.scheme);
  fn(env, `${U}.getHost(): string`, (u: URL) => u.url.host);
  fn(env, `${U}.getHostname(): string`, (u: URL) => hostname(u.url));
  fn(env, `${U}.getPort(): string`, (u: URL) => port(u.url));
  fn(env, `${U}.getEscapedPath(): string`, (u: URL) => escapedPath(u.url));
  fn(env, `${U}.getQuery(): map<string, list<string>>`, (u: URL) => query(u.url));
}
