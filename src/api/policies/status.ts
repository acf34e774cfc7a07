import { Type, type Static } from '@sinclair/typebox';
import { Conditions } from './kubernetes.js';

/**
 * What the operator reports on policies and policy servers (kubewarden.md §3.3): Kubewarden's
 * fields, so dashboards and scripts reading `.status.policyStatus` keep working, plus
 * Palisade's `loadError`, which says why a policy server could not load the policy instead of
 * leaving users to dig through its logs.
 */

/** Lifecycle of a policy, in Kubewarden's order. */
export const POLICY_STATUS_VALUES = ['unscheduled', 'scheduled', 'pending', 'active'] as const;
export type PolicyStatusValue = (typeof POLICY_STATUS_VALUES)[number];

/** `status` of the four policy kinds. */
export const PolicyStatus = Type.Object(
  {
    policyStatus: Type.Optional(
      Type.Union(
        POLICY_STATUS_VALUES.map((v) => Type.Literal(v)),
        {
          description:
            'unscheduled: no policy server; scheduled: its policy server is missing; ' +
            'pending: the policy server is rolling out; active: the webhook is registered.',
        },
      ),
    ),
    mode: Type.Optional(
      Type.Union([Type.Literal('protect'), Type.Literal('monitor'), Type.Literal('unknown')], {
        description: 'Mode the policy server actually runs the policy in.',
      }),
    ),
    conditions: Type.Optional(
      Conditions(
        'Known types: PolicyActive, PolicyServerConfigurationUpToDate, PolicyUniquelyReachable.',
      ),
    ),
    loadError: Type.Optional(
      Type.String({
        maxLength: 32768,
        description:
          'Why the policy failed to load on its policy server (module download, signature, ' +
          'settings validation); absent when it loaded.',
      }),
    ),
    observedGeneration: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'metadata.generation this status describes: older means the operator has not caught up.',
      }),
    ),
  },
  { description: 'Observed state of the policy.' },
);
export type PolicyStatus = Static<typeof PolicyStatus>;

/** `status` of a PolicyServer: only conditions, as in Kubewarden. */
export const PolicyServerStatus = Type.Object(
  {
    conditions: Type.Optional(
      Conditions(
        'Known types: CertSecretReconciled, ConfigMapReconciled, DeploymentReconciled, ServiceReconciled, ' +
          'PodDisruptionBudgetReconciled, PolicyWebhooksCleanedUp.',
      ),
    ),
  },
  { description: 'Observed state of the policy server.' },
);
export type PolicyServerStatus = Static<typeof PolicyServerStatus>;
