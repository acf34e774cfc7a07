import { parseAllDocuments } from 'yaml';

/** The migrate tests' shared input: a Kubewarden v1 policy as `kubectl get -o yaml` shows one. */
export const CAP = `apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicy
metadata:
  name: privileged-pods
spec:
  module: registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.5
  rules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      resources: ["pods"]
      operations: ["CREATE", "UPDATE"]
  mutating: false
`;

/** Every document of a migrated output, as plain data. */
export function docs(output: string): unknown[] {
  return parseAllDocuments(output).map((d) => d.toJS() as unknown);
}
