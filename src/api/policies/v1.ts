import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  EVAL_TIMEOUT_WITHIN_WEBHOOK_TIMEOUT,
  MEMBER_NAMES_ARE_IDENTIFIERS,
  MEMBER_NAMES_NOT_RESERVED,
  MEMBER_TIMEOUTS_WITHIN_WEBHOOK_TIMEOUT,
  NO_PROTECT_TO_MONITOR,
  POLICY_SERVER_IMMUTABLE,
  celRules,
} from './cel-rules.js';

/**
 * Schemas of the policy resources, field for field Kubewarden's `policies.kubewarden.io/v1`
 * (kubewarden.md §3). One source of truth: the TypeScript types, the runtime validation of
 * manifests and the CRDs in crds/ (`npm run crds`) all come from these. Defaults and CEL
 * rules (`x-kubernetes-validations`) are extra keywords here: TypeBox's checks ignore them,
 * so manifests parse exactly as before, while the API server applies them.
 */

export { PolicyServerSpec } from './policy-server.js';
export { PolicyServerStatus, PolicyStatus, POLICY_STATUS_VALUES } from './status.js';
export type { PolicyStatusValue } from './status.js';
export { Condition } from './kubernetes.js';
export {
  CEL_RESERVED_WORDS,
  GROUP_MEMBER_NAME_PATTERN,
  celRules,
  type CelRule,
} from './cel-rules.js';

export const PALISADE_GROUP = 'policies.palisade.dev';
export const KUBEWARDEN_GROUP = 'policies.kubewarden.io';
export const ACCEPTED_API_VERSIONS = [`${PALISADE_GROUP}/v1`, `${KUBEWARDEN_GROUP}/v1`] as const;

/** Free-form: kept as written by the API server, checked by the policy itself. */
const Free = (description: string) => Type.Unknown({ description });

const StringList = (description?: string) =>
  Type.Array(Type.String(), description === undefined ? {} : { description });

export const RuleWithOperations = Type.Object(
  {
    apiGroups: Type.Optional(StringList("API groups; '*' is all groups.")),
    apiVersions: Type.Optional(StringList("API versions; '*' is all versions.")),
    resources: Type.Optional(StringList("Resources ('pods', 'pods/log', '*', '*/scale', '*/*').")),
    operations: Type.Optional(
      Type.Array(
        Type.Union(['*', 'CREATE', 'UPDATE', 'DELETE', 'CONNECT'].map((o) => Type.Literal(o))),
        { description: 'CREATE, UPDATE, DELETE, CONNECT or * for all.' },
      ),
    ),
    scope: Type.Optional(
      Type.Union([Type.Literal('Cluster'), Type.Literal('Namespaced'), Type.Literal('*')], {
        description: 'Cluster, Namespaced or * (default).',
      }),
    ),
  },
  { description: 'Operations on resources the policy is called for (admissionregistration/v1).' },
);
export type RuleWithOperations = Static<typeof RuleWithOperations>;

export const LabelSelectorRequirement = Type.Object({
  key: Type.String({ description: 'Label key the selector applies to.' }),
  operator: Type.Union(
    ['In', 'NotIn', 'Exists', 'DoesNotExist'].map((o) => Type.Literal(o)),
    {
      description: 'In, NotIn, Exists or DoesNotExist.',
    },
  ),
  values: Type.Optional(StringList('Values for In and NotIn; empty for Exists and DoesNotExist.')),
});

export const LabelSelector = Type.Object(
  {
    matchLabels: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: 'Labels that must all be present with these values.',
      }),
    ),
    matchExpressions: Type.Optional(
      Type.Array(LabelSelectorRequirement, { description: 'Requirements, ANDed.' }),
    ),
  },
  { 'x-kubernetes-map-type': 'atomic' },
);
export type LabelSelector = Static<typeof LabelSelector>;

export const MatchCondition = Type.Object({
  name: Type.String({ minLength: 1, description: 'Identifier of the condition.' }),
  expression: Type.String({
    minLength: 1,
    description: 'CEL expression on object, oldObject, request and authorizer; must be bool.',
  }),
});
export type MatchCondition = Static<typeof MatchCondition>;

/**
 * Palisade extension: how to run a module that carries no `io.kubewarden.metadata` (kwctl's
 * `--execution-mode`); the module's own metadata wins when present.
 */
export const ExecutionMode = Type.Union(
  [
    Type.Literal('kubewarden-wapc'),
    Type.Literal('wasi'),
    Type.Literal('opa'),
    Type.Literal('gatekeeper'),
  ],
  {
    description:
      'Palisade extension: how to run a module without io.kubewarden.metadata ' +
      '(kubewarden-wapc, wasi, opa, gatekeeper); the metadata wins when present.',
  },
);

export const ContextAwareResource = Type.Object({
  apiVersion: Type.String({ description: 'apiVersion of the resource (v1, apps/v1…).' }),
  kind: Type.String({ description: 'Kind of the resource.' }),
});

const Mode = Type.Union([Type.Literal('protect'), Type.Literal('monitor')], {
  default: 'protect',
  description:
    'protect rejects what the policy rejects; monitor only logs. monitor → protect is ' +
    'allowed, protect → monitor is not (recreate the policy).',
  ...celRules(NO_PROTECT_TO_MONITOR),
});
const FailurePolicy = Type.Union([Type.Literal('Fail'), Type.Literal('Ignore')], {
  description: 'What the API server does when the policy server fails: Fail (default) or Ignore.',
});
const TimeoutSeconds = Type.Integer({
  minimum: 2,
  maximum: 30,
  format: 'int32',
  default: 10,
  description: 'Webhook timeout, 2 to 30 seconds.',
});
const TimeoutEvalSeconds = Type.Integer({
  minimum: 2,
  maximum: 30,
  format: 'int32',
  description: 'Deadline of one evaluation, 2 to 30 seconds; at most timeoutSeconds.',
});
const ModuleUrl = Type.String({
  minLength: 1,
  description:
    'WebAssembly module: registry:// (assumed without scheme), https://, http://, file://.',
});
const Settings = Free('Settings passed verbatim to the policy.');

/** Fields every policy and group spec shares. */
const commonSpec = {
  policyServer: Type.Optional(
    Type.String({
      default: 'default',
      description: 'PolicyServer running the policy; immutable.',
      ...celRules(POLICY_SERVER_IMMUTABLE),
    }),
  ),
  mode: Type.Optional(Mode),
  rules: Type.Array(RuleWithOperations, {
    minItems: 1,
    description: 'Requests the policy is called for; it is called when any rule matches.',
  }),
  failurePolicy: Type.Optional(FailurePolicy),
  backgroundAudit: Type.Optional(
    Type.Boolean({ default: true, description: 'Whether the audit scanner evaluates it.' }),
  ),
  matchPolicy: Type.Optional(
    Type.Union([Type.Literal('Exact'), Type.Literal('Equivalent')], {
      description: 'Exact, or Equivalent (default): also match other versions of a resource.',
    }),
  ),
  matchConditions: Type.Optional(
    Type.Array(MatchCondition, {
      maxItems: 64,
      description: 'CEL conditions that must all hold for the policy to be called.',
    }),
  ),
  objectSelector: Type.Optional(LabelSelector),
  sideEffects: Type.Optional(Type.String({ description: 'Webhook sideEffects; None when unset.' })),
  timeoutSeconds: Type.Optional(TimeoutSeconds),
};

const policySpec = {
  ...commonSpec,
  module: ModuleUrl,
  settings: Type.Optional(Settings),
  mutating: Type.Boolean({ description: 'Whether the policy may mutate requests.' }),
  executionMode: Type.Optional(ExecutionMode),
  timeoutEvalSeconds: Type.Optional(TimeoutEvalSeconds),
  message: Type.Optional(Type.String({ description: "Replaces the policy's rejection message." })),
};

const clusterOnly = {
  namespaceSelector: Type.Optional(LabelSelector),
  contextAwareResources: Type.Optional(
    Type.Array(ContextAwareResource, {
      description: 'Kinds the policy may read from the cluster while evaluating.',
    }),
  ),
  allowInsideAdmissionControllerNamespace: Type.Optional(
    Type.Boolean({
      description: "Also evaluate requests in the operator's own namespace (off: no lock-out).",
    }),
  ),
};

export const AdmissionPolicySpec = Type.Object(policySpec, {
  description: 'Desired state of the policy.',
  ...celRules(EVAL_TIMEOUT_WITHIN_WEBHOOK_TIMEOUT),
});
export const ClusterAdmissionPolicySpec = Type.Object(
  { ...policySpec, ...clusterOnly },
  { description: 'Desired state of the policy.', ...celRules(EVAL_TIMEOUT_WITHIN_WEBHOOK_TIMEOUT) },
);

const memberSpec = {
  module: ModuleUrl,
  settings: Type.Optional(Settings),
  executionMode: Type.Optional(ExecutionMode),
  timeoutEvalSeconds: Type.Optional(TimeoutEvalSeconds),
};
const GroupMember = Type.Object(memberSpec);
const ClusterGroupMember = Type.Object({
  ...memberSpec,
  contextAwareResources: clusterOnly.contextAwareResources,
});

const groupSpec = {
  ...commonSpec,
  expression: Type.String({
    minLength: 1,
    description: 'Boolean expression over the members, called as functions: a() && !b().',
  }),
  message: Type.String({ minLength: 1, description: 'Rejection message of the group.' }),
};

const GROUP_DESCRIPTION = 'Desired state of the policy group (always validating, never mutating).';

/** The `policies` map of a group: member name → member. */
const members = <T extends TSchema>(member: T) =>
  Type.Record(Type.String(), member, {
    description: 'Members of the group, by the name the expression calls them.',
    ...celRules(MEMBER_NAMES_ARE_IDENTIFIERS, MEMBER_NAMES_NOT_RESERVED),
  });

export const AdmissionPolicyGroupSpec = Type.Object(
  { ...groupSpec, policies: members(GroupMember) },
  { description: GROUP_DESCRIPTION, ...celRules(MEMBER_TIMEOUTS_WITHIN_WEBHOOK_TIMEOUT) },
);
export const ClusterAdmissionPolicyGroupSpec = Type.Object(
  { ...groupSpec, ...clusterOnly, policies: members(ClusterGroupMember) },
  { description: GROUP_DESCRIPTION, ...celRules(MEMBER_TIMEOUTS_WITHIN_WEBHOOK_TIMEOUT) },
);

export type AdmissionPolicySpec = Static<typeof AdmissionPolicySpec>;
export type ClusterAdmissionPolicySpec = Static<typeof ClusterAdmissionPolicySpec>;
export type AdmissionPolicyGroupSpec = Static<typeof AdmissionPolicyGroupSpec>;
export type ClusterAdmissionPolicyGroupSpec = Static<typeof ClusterAdmissionPolicyGroupSpec>;

export const POLICY_KINDS = {
  ClusterAdmissionPolicy: ClusterAdmissionPolicySpec,
  AdmissionPolicy: AdmissionPolicySpec,
  ClusterAdmissionPolicyGroup: ClusterAdmissionPolicyGroupSpec,
  AdmissionPolicyGroup: AdmissionPolicyGroupSpec,
} as const satisfies Record<string, TSchema>;

export type PolicyKind = keyof typeof POLICY_KINDS;

export const ObjectMeta = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253 }),
  namespace: Type.Optional(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type ObjectMeta = Static<typeof ObjectMeta>;
