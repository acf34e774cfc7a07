import { Type, type Static } from '@sinclair/typebox';
import { ExecutionMode } from './v1.js';

/**
 * Kubewarden policy-server's `policies.yml`: policy id → policy or policy group
 * (kubewarden.md §4.2). Kept apart from the CRD schemas: it is the server's own
 * configuration format, which the operator renders from the CRDs.
 */

const ContextAwareResource = Type.Object({ apiVersion: Type.String(), kind: Type.String() });
const Mode = Type.Union([Type.Literal('protect'), Type.Literal('monitor')]);

export const PoliciesFileMember = Type.Object(
  {
    module: Type.String({ minLength: 1 }),
    settings: Type.Optional(Type.Unknown()),
    contextAwareResources: Type.Optional(Type.Array(ContextAwareResource)),
    timeoutEvalSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    hostCapabilities: Type.Optional(Type.Array(Type.String())),
    executionMode: Type.Optional(ExecutionMode),
  },
  { additionalProperties: false },
);

export const PoliciesFilePolicy = Type.Object({
  module: Type.String({ minLength: 1 }),
  policyMode: Type.Optional(Mode),
  allowedToMutate: Type.Optional(Type.Boolean()),
  settings: Type.Optional(Type.Unknown()),
  contextAwareResources: Type.Optional(Type.Array(ContextAwareResource)),
  message: Type.Optional(Type.String()),
  timeoutEvalSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
  hostCapabilities: Type.Optional(Type.Array(Type.String())),
  executionMode: Type.Optional(ExecutionMode),
  namespacedName: Type.Optional(Type.Unknown()),
});

export const PoliciesFileGroup = Type.Object({
  policyMode: Type.Optional(Mode),
  policies: Type.Record(Type.String(), PoliciesFileMember),
  expression: Type.String({ minLength: 1 }),
  message: Type.String({ minLength: 1 }),
  namespacedName: Type.Optional(Type.Unknown()),
});

export type PoliciesFilePolicy = Static<typeof PoliciesFilePolicy>;
export type PoliciesFileGroup = Static<typeof PoliciesFileGroup>;
