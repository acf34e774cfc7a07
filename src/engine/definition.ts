import type { JsonValue } from '../shared/admission.js';
import type { LabelSelector, MatchCondition, RuleWithOperations } from '../api/policies/v1.js';
import type { PolicyMode } from './types.js';

/** Which requests a policy applies to; absent for policies.yml entries, which have no rules. */
export interface MatchSpec {
  readonly rules: readonly RuleWithOperations[];
  readonly namespaceSelector?: LabelSelector;
  readonly objectSelector?: LabelSelector;
  readonly matchConditions?: readonly MatchCondition[];
  /** Policies in a namespace (AdmissionPolicy) only see requests in that namespace. */
  readonly namespace?: string;
}

export interface ModuleSpec {
  readonly module: string;
  readonly settings: JsonValue | undefined;
  /** Field path of the settings in the user's document, e.g. `spec.settings`. */
  readonly settingsPath: string;
  readonly timeoutEvalSeconds?: number;
  /** Kubernetes types a context-aware WebAssembly policy may read through host capabilities. */
  readonly contextAwareResources?: readonly {
    readonly apiVersion: string;
    readonly kind: string;
  }[];
  /** Host-capability patterns granted (policies.yml); manifests are granted `*`, as upstream. */
  readonly hostCapabilities?: readonly string[];
  /** For modules without metadata: kubewarden-wapc, wasi, opa or gatekeeper. */
  readonly executionMode?: string;
}

export interface GroupMemberSpec extends ModuleSpec {
  readonly name: string;
}

/**
 * A policy as the engine knows it, whatever document it came from (a manifest of any of the
 * four kinds, or a policies.yml entry). Normalising here keeps every later stage free of
 * format differences.
 */
export interface PolicyDefinition {
  /** The id used in URLs: Kubewarden's unique name for manifests, the key in policies.yml. */
  readonly id: string;
  /** metadata.name for manifests; the id for policies.yml. */
  readonly name: string;
  /** Where it came from, for messages: `policies/foo/policy.yaml`. */
  readonly source: string;
  readonly mode: PolicyMode;
  readonly message?: string;
  readonly match?: MatchSpec;
  readonly body: PolicyBody | GroupBody;
  /** A problem found while reading; the policy then loads as a rejection with this error. */
  readonly readError?: string;
}

export interface PolicyBody extends ModuleSpec {
  readonly type: 'policy';
  readonly allowedToMutate: boolean;
}

export interface GroupBody {
  readonly type: 'group';
  readonly expression: string;
  readonly members: readonly GroupMemberSpec[];
}
