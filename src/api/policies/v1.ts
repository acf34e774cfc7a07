import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * Schemas of the policy resources, field for field Kubewarden's `policies.kubewarden.io/v1`
 * (kubewarden.md §3). One source of truth: the TypeScript types, the runtime validation of
 * manifests and (later) the generated CRDs all come from these.
 */

export const PALISADE_GROUP = 'policies.palisade.dev';
export const KUBEWARDEN_GROUP = 'policies.kubewarden.io';
export const ACCEPTED_API_VERSIONS = [`${PALISADE_GROUP}/v1`, `${KUBEWARDEN_GROUP}/v1`] as const;

const Free = Type.Unknown();

const StringList = Type.Array(Type.String());

export const RuleWithOperations = Type.Object({
  apiGroups: Type.Optional(StringList),
  apiVersions: Type.Optional(StringList),
  resources: Type.Optional(StringList),
  operations: Type.Optional(
    Type.Array(
      Type.Union(['*', 'CREATE', 'UPDATE', 'DELETE', 'CONNECT'].map((o) => Type.Literal(o))),
    ),
  ),
  scope: Type.Optional(
    Type.Union([Type.Literal('Cluster'), Type.Literal('Namespaced'), Type.Literal('*')]),
  ),
});
export type RuleWithOperations = Static<typeof RuleWithOperations>;

export const LabelSelectorRequirement = Type.Object({
  key: Type.String(),
  operator: Type.Union(['In', 'NotIn', 'Exists', 'DoesNotExist'].map((o) => Type.Literal(o))),
  values: Type.Optional(StringList),
});

export const LabelSelector = Type.Object({
  matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
  matchExpressions: Type.Optional(Type.Array(LabelSelectorRequirement)),
});
export type LabelSelector = Static<typeof LabelSelector>;

export const MatchCondition = Type.Object({
  name: Type.String({ minLength: 1 }),
  expression: Type.String({ minLength: 1 }),
});
export type MatchCondition = Static<typeof MatchCondition>;

/**
 * Palisade extension: how to run a module that carries no `io.kubewarden.metadata` (kwctl's
 * `--execution-mode`); the module's own metadata wins when present.
 */
export const ExecutionMode = Type.Union([
  Type.Literal('kubewarden-wapc'),
  Type.Literal('wasi'),
  Type.Literal('opa'),
  Type.Literal('gatekeeper'),
]);

export const ContextAwareResource = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
});

const Mode = Type.Union([Type.Literal('protect'), Type.Literal('monitor')]);
const FailurePolicy = Type.Union([Type.Literal('Fail'), Type.Literal('Ignore')]);
const Timeout = Type.Integer({ minimum: 2, maximum: 30 });

/** Fields every policy and group spec shares. */
const commonSpec = {
  policyServer: Type.Optional(Type.String()),
  mode: Type.Optional(Mode),
  rules: Type.Array(RuleWithOperations, { minItems: 1 }),
  failurePolicy: Type.Optional(FailurePolicy),
  backgroundAudit: Type.Optional(Type.Boolean()),
  matchPolicy: Type.Optional(Type.Union([Type.Literal('Exact'), Type.Literal('Equivalent')])),
  matchConditions: Type.Optional(Type.Array(MatchCondition, { maxItems: 64 })),
  objectSelector: Type.Optional(LabelSelector),
  sideEffects: Type.Optional(Type.String()),
  timeoutSeconds: Type.Optional(Timeout),
};

const policySpec = {
  ...commonSpec,
  module: Type.String({ minLength: 1 }),
  settings: Type.Optional(Free),
  mutating: Type.Boolean(),
  executionMode: Type.Optional(ExecutionMode),
  timeoutEvalSeconds: Type.Optional(Timeout),
  message: Type.Optional(Type.String()),
};

const clusterOnly = {
  namespaceSelector: Type.Optional(LabelSelector),
  contextAwareResources: Type.Optional(Type.Array(ContextAwareResource)),
  allowInsideAdmissionControllerNamespace: Type.Optional(Type.Boolean()),
};

export const AdmissionPolicySpec = Type.Object(policySpec);
export const ClusterAdmissionPolicySpec = Type.Object({ ...policySpec, ...clusterOnly });

const GroupMember = Type.Object({
  module: Type.String({ minLength: 1 }),
  settings: Type.Optional(Free),
  executionMode: Type.Optional(ExecutionMode),
  timeoutEvalSeconds: Type.Optional(Timeout),
});
const ClusterGroupMember = Type.Object({
  module: Type.String({ minLength: 1 }),
  settings: Type.Optional(Free),
  executionMode: Type.Optional(ExecutionMode),
  timeoutEvalSeconds: Type.Optional(Timeout),
  contextAwareResources: Type.Optional(Type.Array(ContextAwareResource)),
});

const groupSpec = {
  ...commonSpec,
  expression: Type.String({ minLength: 1 }),
  message: Type.String({ minLength: 1 }),
};

export const AdmissionPolicyGroupSpec = Type.Object({
  ...groupSpec,
  policies: Type.Record(Type.String(), GroupMember),
});
export const ClusterAdmissionPolicyGroupSpec = Type.Object({
  ...groupSpec,
  ...clusterOnly,
  policies: Type.Record(Type.String(), ClusterGroupMember),
});

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
