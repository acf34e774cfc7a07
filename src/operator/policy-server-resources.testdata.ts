import type {
  PolicyServerContext,
  PolicyServerInput,
  PolicyServerSpecInput,
} from './policy-server-resources.js';

/** Shared by the PolicyServer object tests: one context, one PolicyServer, what they expect. */
export const CA_PEM = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';

export const ctx: PolicyServerContext = {
  namespace: 'palisade-system',
  defaultImage: 'ghcr.io/palisade/palisade:default',
  caBundle: CA_PEM,
  servingCertPem: 'CERT',
  servingKeyPem: 'KEY',
  operatorLabels: { 'helm.sh/chart': 'palisade-0.1.0', 'app.kubernetes.io/part-of': 'helm' },
};

export function server(spec: Partial<PolicyServerSpecInput> = {}): PolicyServerInput {
  return {
    metadata: { name: 'default', uid: '8f0e4a51-0000-4000-8000-000000000001' },
    spec: { image: 'ghcr.io/palisade/palisade:1.0.0', replicas: 2, ...spec },
  };
}

export const LABELS = {
  'helm.sh/chart': 'palisade-0.1.0',
  'app.kubernetes.io/name': 'palisade-policy-server',
  'app.kubernetes.io/instance': 'default',
  'app.kubernetes.io/component': 'policy-server',
  'app.kubernetes.io/part-of': 'palisade',
  'app.kubernetes.io/managed-by': 'palisade-operator',
  'policies.palisade.dev/policy-server': 'default',
};

export const OWNER = {
  apiVersion: 'policies.palisade.dev/v1',
  kind: 'PolicyServer',
  name: 'default',
  uid: '8f0e4a51-0000-4000-8000-000000000001',
  controller: true,
  blockOwnerDeletion: true,
};

export const META = {
  name: 'policy-server-default',
  namespace: 'palisade-system',
  labels: LABELS,
  ownerReferences: [OWNER],
};
