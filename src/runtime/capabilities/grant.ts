import type { CapabilityGrant } from './types.js';

/**
 * Kubewarden's capability tree (policy-evaluator `host_capabilities.rs`): a `null` child is a
 * leaf, an operation a policy can call; an object is a path segment under which patterns can
 * end in `*`. Patterns are validated against it so a typo in a manifest fails at load instead of
 * silently denying at run time.
 */
type CapabilityTree = { readonly [segment: string]: CapabilityTree | null };

const CAPABILITY_TREE: CapabilityTree = {
  oci: {
    v1: { verify: null, manifest_digest: null, oci_manifest: null, oci_manifest_config: null },
    v2: { verify: null },
  },
  net: { v1: { dns_lookup_host: null } },
  crypto: { v1: { is_certificate_trusted: null } },
  kubernetes: {
    list_resources_by_namespace: null,
    list_resources_all: null,
    get_resource: null,
    can_i: null,
  },
};

/**
 * Why `pattern` is not a valid host-capability pattern, in Kubewarden's words, or `undefined`
 * when it is valid. For the manifest and policies-file loaders.
 */
export function hostCapabilityPatternError(pattern: string): string | undefined {
  const trimmed = pattern.trim();
  if (trimmed === '') return 'invalid pattern: pattern must not be empty';
  if (trimmed === '*') return undefined;
  if (trimmed.includes('*') && !trimmed.endsWith('/*')) {
    return `invalid pattern ${JSON.stringify(pattern)}: wildcard '*' must be the entire last path segment (e.g. 'oci/*'), not a partial match`;
  }
  const parts = trimmed.split('/');
  let node: CapabilityTree = CAPABILITY_TREE;
  for (const [i, part] of parts.entries()) {
    if (part === '*') return undefined;
    if (!Object.hasOwn(node, part)) {
      const valid = Object.keys(node).sort().join(', ');
      return `invalid pattern ${JSON.stringify(trimmed)}: unknown segment ${JSON.stringify(part)}, valid options at this level are: ${valid}`;
    }
    const child: CapabilityTree | null | undefined = node[part];
    const last = i === parts.length - 1;
    if (child === null || child === undefined) {
      return last
        ? undefined
        : `invalid pattern ${JSON.stringify(trimmed)}: unknown segment ${JSON.stringify(parts[i + 1] ?? '')}, valid options at this level are: `;
    }
    if (last) {
      return `invalid pattern ${JSON.stringify(trimmed)}: not a complete capability path; use ${JSON.stringify(`${trimmed}/*`)} to allow all capabilities under it`;
    }
    node = child;
  }
  return undefined;
}

/** A grant's patterns, compiled once: exact paths plus `prefix/` of every `prefix/*`. */
interface CompiledPatterns {
  readonly all: boolean;
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}

const compiled = new WeakMap<readonly string[], CompiledPatterns>();

function compile(patterns: readonly string[]): CompiledPatterns {
  const cached = compiled.get(patterns);
  if (cached !== undefined) return cached;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  let all = false;
  for (const raw of patterns) {
    const pattern = raw.trim();
    if (pattern === '*') all = true;
    else if (pattern.endsWith('/*')) prefixes.push(pattern.slice(0, -1));
    else if (pattern !== '') exact.add(pattern);
  }
  const result = { all, exact, prefixes };
  compiled.set(patterns, result);
  return result;
}

/**
 * Whether the grant lets the policy call `path` (`<namespace>/<operation>`). Same matching as
 * Kubewarden's `HostCapabilities::is_allowed`: `*` allows everything, `oci/*` is a string
 * prefix, anything else must match exactly; an empty list denies everything.
 */
export function isCapabilityAllowed(grant: CapabilityGrant, path: string): boolean {
  const patterns = compile(grant.hostCapabilities);
  return (
    patterns.all || patterns.exact.has(path) || patterns.prefixes.some((p) => path.startsWith(p))
  );
}

/** Whether the policy declared this resource type in `contextAwareResources` (exact match). */
export function isResourceAllowed(
  grant: CapabilityGrant,
  apiVersion: string,
  kind: string,
): boolean {
  return grant.contextAwareResources.some((r) => r.apiVersion === apiVersion && r.kind === kind);
}

/** Kubewarden's exact denial text for a capability outside the grant. */
export function capabilityDeniedMessage(path: string): string {
  return `Policy has not been granted access to the '${path}' host capability. The violation has been reported.`;
}

/** Kubewarden's exact denial text for a Kubernetes type outside `contextAwareResources`. */
export function resourceDeniedMessage(apiVersion: string, kind: string): string {
  return `Policy has not been granted access to Kubernetes ${apiVersion}/${kind} resources. The violation has been reported.`;
}
