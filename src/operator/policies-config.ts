import { isJsonObject, type JsonObject, type JsonValue } from '../shared/admission.js';
import { isClusterWide, isGroup, uniqueName, type PolicyResource } from './webhooks.js';

/**
 * The `policies.yml` a PolicyServer's ConfigMap carries: Kubewarden's shape (kubewarden.md
 * §3.5), one entry per unique name, so the text is what Kubewarden's controller would write
 * for the same resources and Palisade's policies.yml reader (src/engine/policies-file.ts) is
 * the contract with the policy server. What Kubewarden leaves to the webhook (rules,
 * selectors, match conditions) is not in it: the API server only calls for matching requests.
 *
 * The text is canonical JSON (which is YAML): keys sorted at every depth, entries by id, two
 * spaces. An unchanged policy set therefore renders byte for byte the same, and server-side
 * apply of an unchanged ConfigMap is a no-op that wakes no watcher.
 */

/** What the PolicyServer contributes to its policies' entries. */
export interface PoliciesConfigOptions {
  /**
   * `spec.namespacedPoliciesCapabilities`: the host capabilities namespaced policies get.
   * Unset means `["*"]`, as Kubewarden's `hostCapabilitiesForPolicy` does in code (its CRD
   * comment says "none"; the code wins because that is what clusters run today).
   */
  readonly namespacedPoliciesCapabilities?: readonly string[];
}

/** Every capability: what cluster-wide policies always get, as in Kubewarden. */
export const ALL_CAPABILITIES: readonly string[] = ['*'];

/** The `policies.yml` entries by unique name (for callers that compare entries one by one). */
export function policiesConfigEntries(
  policies: readonly PolicyResource[],
  options: PoliciesConfigOptions = {},
): Map<string, JsonObject> {
  const entries = new Map<string, JsonObject>();
  for (const policy of [...policies].sort((a, b) => compare(uniqueName(a), uniqueName(b)))) {
    entries.set(uniqueName(policy), policyEntry(policy, options));
  }
  return entries;
}

/** The `policies.yml` text: canonical JSON of {@link policiesConfigEntries}, newline-terminated. */
export function renderPoliciesConfig(
  policies: readonly PolicyResource[],
  options: PoliciesConfigOptions = {},
): string {
  return `${canonicalJson(Object.fromEntries(policiesConfigEntries(policies, options)))}\n`;
}

/**
 * JSON with object keys sorted (code-point order, independent of locale) at every depth and
 * two-space indentation. Arrays keep their order: it means something (CEL validations run in
 * order).
 */
export function canonicalJson(value: JsonValue): string {
  return JSON.stringify(sortKeys(value), null, 2);
}

function sortKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value).sort(compare)) {
    const v = value[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function policyEntry(policy: PolicyResource, options: PoliciesConfigOptions): JsonObject {
  const spec = policy.spec;
  const common: JsonObject = {
    // Go's types.NamespacedName has no JSON tags: Kubewarden writes the capitalised names.
    namespacedName: { Namespace: policy.metadata.namespace ?? '', Name: policy.metadata.name },
    policyMode: spec['mode'] === 'monitor' ? 'monitor' : 'protect',
  };
  const capabilities = hostCapabilities(policy, options);
  if (isGroup(policy.kind)) {
    const members = isJsonObject(spec['policies']) ? spec['policies'] : {};
    return {
      ...common,
      policies: Object.fromEntries(
        Object.entries(members).map(([name, member]) => [
          name,
          moduleFields(isJsonObject(member) ? member : {}, policy, capabilities),
        ]),
      ),
      expression: stringOr(spec['expression'], ''),
      message: stringOr(spec['message'], ''),
    };
  }
  return {
    ...common,
    ...moduleFields(spec, policy, capabilities),
    allowedToMutate: spec['mutating'] === true,
    ...optional('message', spec['message']),
  };
}

/** What a policy and a group member share: the module and how to run it. */
function moduleFields(
  source: JsonObject,
  policy: PolicyResource,
  capabilities: readonly string[],
): JsonObject {
  return {
    module: stringOr(source['module'], ''),
    // Namespaced kinds have no contextAwareResources; Kubewarden writes an empty list.
    contextAwareResources:
      isClusterWide(policy.kind) && Array.isArray(source['contextAwareResources'])
        ? source['contextAwareResources']
        : [],
    hostCapabilities: [...capabilities],
    ...optional('settings', source['settings']),
    ...optional('timeoutEvalSeconds', source['timeoutEvalSeconds']),
    // Palisade extension, read back by the policy server; absent unless the user set it.
    ...optional('executionMode', source['executionMode']),
  };
}

function hostCapabilities(
  policy: PolicyResource,
  options: PoliciesConfigOptions,
): readonly string[] {
  if (isClusterWide(policy.kind)) return ALL_CAPABILITIES;
  return options.namespacedPoliciesCapabilities ?? ALL_CAPABILITIES;
}

/** `{key: value}` when the user set the field; nothing for absent or null. */
function optional(key: string, value: JsonValue | undefined): JsonObject {
  return value === undefined || value === null ? {} : { [key]: value };
}

function stringOr(value: JsonValue | undefined, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}
