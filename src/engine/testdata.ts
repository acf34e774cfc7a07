import type { AdmissionRequest, JsonValue } from '../shared/admission.js';

/** Builders for unit-test requests; real admission shapes, only the fields that matter varied. */
export function deploymentRequest(
  replicas: number,
  overrides: Partial<AdmissionRequest> = {},
): AdmissionRequest {
  return {
    uid: 'uid-1',
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    name: 'web',
    namespace: 'default',
    operation: 'CREATE',
    userInfo: { username: 'alice' },
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
      spec: { replicas },
    },
    ...overrides,
  };
}

export const replicaSettings: JsonValue = {
  variables: [
    { name: 'replicas', expression: 'object.spec.replicas' },
    { name: 'maxreplicas', expression: 'int(5)' },
  ],
  validations: [
    {
      expression: 'variables.replicas <= variables.maxreplicas',
      messageExpression:
        "'the number of replicas must be less than or equal to ' + string(variables.maxreplicas)",
    },
  ],
};

export function replicaManifest(
  spec: Record<string, JsonValue> = {},
  apiVersion = 'policies.kubewarden.io/v1',
): JsonValue {
  return {
    apiVersion,
    kind: 'ClusterAdmissionPolicy',
    metadata: { name: 'replica-limit' },
    spec: {
      module: 'registry://ghcr.io/kubewarden/policies/cel-policy:v1.0.0',
      mutating: false,
      rules: [
        {
          apiGroups: ['apps'],
          apiVersions: ['v1'],
          resources: ['deployments'],
          operations: ['CREATE', 'UPDATE'],
        },
      ],
      settings: replicaSettings,
      ...spec,
    },
  };
}
