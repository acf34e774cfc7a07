import { PalisadeError, errorMessage } from '../shared/errors.js';

/** A fully resolved image reference: `busybox` becomes docker.io/library/busybox:latest. */
export interface ImageReference {
  /** Registry as written (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const DOCKER_HUB = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;

function isRegistry(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/**
 * Parses a reference with the distribution/reference rules Kubewarden's oci-client applies: a
 * first path component with a dot, a colon or `localhost` is the registry, otherwise Docker Hub
 * (single names gain `library/`); a reference without tag or digest means `:latest`.
 */
export function parseImageReference(input: string): ImageReference {
  const fail = (why: string): never => {
    throw new Error(`invalid image reference ${JSON.stringify(input)}: ${why}`);
  };
  if (input === '' || input !== input.trim()) fail('empty or surrounded by spaces');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest) || (digest.startsWith('sha256:') && !SHA256.test(digest))) {
      fail('malformed digest');
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail('malformed tag');
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0];
  if (parts.length > 1 && first !== undefined && isRegistry(first)) {
    registry = first === 'index.docker.io' ? DOCKER_HUB : first;
    parts.shift();
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) {
    fail('repository names are lowercase letters, digits and separators');
  }
  return {
    registry,
    repository: parts.join('/'),
    ...(tag === undefined && digest === undefined ? { tag: 'latest' } : {}),
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** Host (and port) that serves the registry API; Docker Hub answers on registry-1.docker.io. */
export function registryEndpoint(reference: ImageReference): string {
  return reference.registry === DOCKER_HUB ? 'registry-1.docker.io' : reference.registry;
}

/** What goes after `/manifests/`: the digest when pinned, else the tag. */
export function manifestReference(reference: ImageReference): string {
  return reference.digest ?? reference.tag ?? 'latest';
}

/** The canonical text form, for logs and error messages. */
export function formatImageReference(reference: ImageReference): string {
  const tag = reference.tag === undefined ? '' : `:${reference.tag}`;
  const digest = reference.digest === undefined ? '' : `@${reference.digest}`;
  return `${reference.registry}/${reference.repository}${tag}${digest}`;
}

/** Where a policy module comes from, as Kubewarden's policy-fetcher reads module URLs. */
export type ModuleSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'registry'; readonly ref: ImageReference }
  | { readonly kind: 'url'; readonly url: URL };

/**
 * `registry://host/repo:tag`, `registry://host/repo@sha256:…`, a bare `host/repo:tag` (which
 * Kubewarden also reads as a registry reference), `https://…`, `http://…` and `file://…`.
 * Anything else is an error naming the text.
 */
export function parseModuleSource(text: string): ModuleSource {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(text)?.[1];
  const fail = (why: string): never => {
    throw new PalisadeError('reference_invalid', `module ${JSON.stringify(text)}: ${why}`);
  };
  switch (scheme) {
    case 'file':
      return { kind: 'file', path: decodeURIComponent(text.slice('file://'.length)) };
    case 'http':
    case 'https':
      try {
        return { kind: 'url', url: new URL(text) };
      } catch {
        return fail('not a valid URL');
      }
    case 'registry':
    case undefined:
      try {
        return { kind: 'registry', ref: parseImageReference(text.replace(/^registry:\/\//, '')) };
      } catch (e) {
        return fail(errorMessage(e));
      }
    default:
      return fail(
        `unsupported scheme ${scheme}:// (use registry://, https://, http:// or file://)`,
      );
  }
}

/** `registry://host/repo:tag@digest`, the form Kubewarden prints and manifests carry. */
export function registryUrl(ref: ImageReference): string {
  return `registry://${formatImageReference(ref)}`;
}
