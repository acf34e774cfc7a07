import type { TSchema } from '@sinclair/typebox';
import type { CelRule } from '../policies/cel-rules.js';
import { PolicyServerStatus, PolicyStatus } from '../policies/status.js';
import { PolicyServerSpec } from '../policies/policy-server.js';
import {
  AdmissionPolicyGroupSpec,
  AdmissionPolicySpec,
  ClusterAdmissionPolicyGroupSpec,
  ClusterAdmissionPolicySpec,
} from '../policies/v1.js';

/**
 * The five custom resources of `policies.palisade.dev/v1`: Kubewarden's kinds, short names,
 * scopes and printer columns (kubewarden.md §3), so `kubectl get cap` reads the same. The
 * short names clash with Kubewarden's own CRDs when both are installed; kubectl then picks
 * one group, and the full `kind.group` name still works for both.
 */

/** apiextensions.k8s.io/v1 CustomResourceColumnDefinition. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}

/** What differs between the CRDs; everything else is rendered the same way for all. */
export interface CrdDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Cluster' | 'Namespaced';
  readonly description: string;
  readonly spec: TSchema;
  readonly status: TSchema;
  readonly printerColumns: readonly PrinterColumn[];
  /** CEL rules on the whole object (they may read `self.metadata.name`). */
  readonly validations?: readonly CelRule[];
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** Kubewarden's policy columns; groups have no `mutating` (they never mutate). */
function policyColumns(mutating: boolean): PrinterColumn[] {
  const annotation = (key: string) => `.metadata.annotations['io\\.kubewarden\\.policy\\.${key}']`;
  return [
    {
      name: 'Policy Server',
      type: 'string',
      jsonPath: '.spec.policyServer',
      description: 'Bound to Policy Server',
    },
    ...(mutating
      ? [
          {
            name: 'Mutating',
            type: 'boolean',
            jsonPath: '.spec.mutating',
            description: 'Whether the policy is mutating',
          } as const,
        ]
      : []),
    {
      name: 'BackgroundAudit',
      type: 'boolean',
      jsonPath: '.spec.backgroundAudit',
      description: 'Whether the policy is used in audit checks',
    },
    { name: 'Mode', type: 'string', jsonPath: '.spec.mode', description: 'Policy deployment mode' },
    {
      name: 'Observed mode',
      type: 'string',
      jsonPath: '.status.mode',
      description: 'Policy deployment mode observed on the assigned Policy Server',
    },
    {
      name: 'Status',
      type: 'string',
      jsonPath: '.status.policyStatus',
      description: 'Status of the policy',
    },
    AGE,
    { name: 'Severity', type: 'string', jsonPath: annotation('severity'), priority: 1 },
    { name: 'Category', type: 'string', jsonPath: annotation('category'), priority: 1 },
  ];
}

export const CRD_DEFINITIONS: readonly CrdDefinition[] = [
  {
    kind: 'ClusterAdmissionPolicy',
    plural: 'clusteradmissionpolicies',
    shortNames: ['cap'],
    scope: 'Cluster',
    description: 'A policy evaluated for requests in every namespace and for cluster resources.',
    spec: ClusterAdmissionPolicySpec,
    status: PolicyStatus,
    printerColumns: policyColumns(true),
  },
  {
    kind: 'AdmissionPolicy',
    plural: 'admissionpolicies',
    shortNames: ['ap'],
    scope: 'Namespaced',
    description: 'A policy evaluated for requests in its own namespace only.',
    spec: AdmissionPolicySpec,
    status: PolicyStatus,
    printerColumns: policyColumns(true),
  },
  {
    kind: 'ClusterAdmissionPolicyGroup',
    plural: 'clusteradmissionpolicygroups',
    shortNames: ['capg'],
    scope: 'Cluster',
    description: 'Policies combined by a boolean expression, cluster-wide.',
    spec: ClusterAdmissionPolicyGroupSpec,
    status: PolicyStatus,
    printerColumns: policyColumns(false),
  },
  {
    kind: 'AdmissionPolicyGroup',
    plural: 'admissionpolicygroups',
    shortNames: ['apg'],
    scope: 'Namespaced',
    description: 'Policies combined by a boolean expression, in its own namespace only.',
    spec: AdmissionPolicyGroupSpec,
    status: PolicyStatus,
    printerColumns: policyColumns(false),
  },
  {
    kind: 'PolicyServer',
    plural: 'policyservers',
    shortNames: ['ps'],
    scope: 'Cluster',
    description: 'A Deployment of policy servers that policies are bound to.',
    spec: PolicyServerSpec,
    status: PolicyServerStatus,
    printerColumns: [
      {
        name: 'Replicas',
        type: 'integer',
        jsonPath: '.spec.replicas',
        description: 'Policy Server replicas',
      },
      {
        name: 'Image',
        type: 'string',
        jsonPath: '.spec.image',
        description: 'Policy Server image',
      },
      AGE,
    ],
    validations: [
      {
        // The name becomes the Deployment, Service and ConfigMap names and a label value.
        rule: 'size(self.metadata.name) <= 63',
        message: 'PolicyServer names are at most 63 characters',
      },
    ],
  },
];
