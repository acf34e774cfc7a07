import { FormatRegistry, Type, type Static } from '@sinclair/typebox';

/**
 * Kubernetes core types the Palisade resources embed (metav1.Condition, IntOrString,
 * resource.Quantity, Toleration, EnvVar), written as TypeBox so the same schema types the
 * code, validates documents and becomes the CRD. Deep pod-level types (affinity, security
 * contexts) are kept free-form: the Deployment the operator renders from them is validated
 * by the API server in full anyway, and copying kube-openapi's thousands of lines would only
 * drift.
 */

/**
 * RFC 3339 timestamps (metav1.Time). Registered because TypeBox refuses unknown string
 * formats, and the CRD needs `format: date-time` so the API server checks it too.
 */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));
}

/** An object the API server keeps as written (no pruning), for fields typed elsewhere. */
export const FreeObject = (description: string) =>
  Type.Object({}, { description, 'x-kubernetes-preserve-unknown-fields': true });

/** map[string]string (labels, annotations). */
export const StringMap = (description: string) =>
  Type.Record(Type.String(), Type.String(), { description });

/** intstr.IntOrString: a number, or a string such as `"25%"`. */
export const IntOrString = (description: string) =>
  Type.Union([Type.Integer(), Type.String()], { description });

/** resource.Quantity (`500m`, `128Mi`, `2`), with the pattern kube-openapi publishes. */
export const Quantity = Type.Union([
  Type.Integer(),
  Type.String({
    pattern:
      '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
  }),
]);

/** corev1.ResourceList: resource name (`cpu`, `memory`…) → quantity. */
export const ResourceList = (description: string) =>
  Type.Record(Type.String(), Quantity, { description });

/** metav1.Condition, field for field (the API server's own validation of the type). */
export const Condition = Type.Object(
  {
    type: Type.String({
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
      description: 'Type of condition in CamelCase or in foo.example.com/CamelCase.',
    }),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')], {
      description: 'Status of the condition: True, False or Unknown.',
    }),
    observedGeneration: Type.Optional(
      Type.Integer({
        minimum: 0,
        format: 'int64',
        description: 'The .metadata.generation the condition was set based upon.',
      }),
    ),
    lastTransitionTime: Type.String({
      format: 'date-time',
      description: 'Last time the condition went from one status to another.',
    }),
    reason: Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      description: 'Programmatic identifier (CamelCase) of the reason for the last transition.',
    }),
    message: Type.String({
      maxLength: 32768,
      description: 'Human readable details about the transition; may be empty.',
    }),
  },
  { description: 'Details for one aspect of the current state of this resource.' },
);
export type Condition = Static<typeof Condition>;

/** A `conditions` list merged by `type`, as server-side apply and kubectl expect. */
export const Conditions = (description: string) =>
  Type.Array(Condition, {
    description,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });

/** corev1.Toleration. */
export const Toleration = Type.Object({
  key: Type.Optional(Type.String({ description: 'Taint key the toleration applies to.' })),
  operator: Type.Optional(
    Type.String({ description: 'Exists, Equal (default), Lt or Gt: how key and value match.' }),
  ),
  value: Type.Optional(Type.String({ description: 'Taint value the toleration matches.' })),
  effect: Type.Optional(
    Type.String({ description: 'NoSchedule, PreferNoSchedule or NoExecute; empty = all.' }),
  ),
  tolerationSeconds: Type.Optional(
    Type.Integer({
      format: 'int64',
      description: 'How long a NoExecute taint is tolerated before eviction.',
    }),
  ),
});

/** corev1.EnvVar; `valueFrom` (secret, config map, field references) kept as written. */
export const EnvVar = Type.Object({
  name: Type.String({ minLength: 1, description: 'Name of the environment variable.' }),
  value: Type.Optional(Type.String({ description: 'Value; $(VAR) references are expanded.' })),
  valueFrom: Type.Optional(
    FreeObject('Source of the value (secretKeyRef, configMapKeyRef, fieldRef…).'),
  ),
});
