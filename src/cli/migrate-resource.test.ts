import { describe, expect, it } from 'vitest';
import {
  formatFinding,
  losesInformation,
  migrateManifests,
  type MigrationFinding,
  type MigrationResult,
} from './migrate.js';
import { CAP, docs } from './migrate-testdata.js';

/** The rules of migrate-resource.ts, through the public entry point. */

function migrate(text: string, source = 'in.yaml'): MigrationResult {
  return migrateManifests([{ source, text }]);
}

/** The report as the CLI prints it (without the summary), for readable assertions. */
function lines(result: MigrationResult): string[] {
  return result.findings.map(formatFinding);
}

function levels(result: MigrationResult): MigrationFinding['level'][] {
  return result.findings.map((f) => f.level);
}

describe('migrateManifests: findings', () => {
  it('drops status, API-server metadata and Kubewarden finalizers as notes', () => {
    const text = CAP.replace(
      '  name: privileged-pods\n',
      `  name: privileged-pods
  uid: 6f0c5a0e
  resourceVersion: "48213"
  generation: 2
  creationTimestamp: "2026-03-02T10:15:00Z"
  managedFields: [{manager: kubectl}]
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"policies.kubewarden.io/v1"}'
  finalizers:
    - kubewarden.io/finalizer
    - example.com/keep-me
`,
    ).concat('status:\n  policyStatus: active\n  mode: protect\n');
    const result = migrate(text);
    const [out] = docs(result.output) as [Record<string, { [k: string]: unknown }>];
    expect(out['metadata']).toEqual({
      name: 'privileged-pods',
      finalizers: ['example.com/keep-me'],
    });
    expect(out['status']).toBeUndefined();
    expect(lines(result)).toEqual([
      'in.yaml: document 1 (ClusterAdmissionPolicy privileged-pods): metadata.uid, metadata.resourceVersion, metadata.generation, metadata.creationTimestamp, metadata.managedFields, metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]: set for the Kubewarden object by the API server, dropped',
      "in.yaml: document 1 (ClusterAdmissionPolicy privileged-pods): metadata.finalizers: kubewarden.io/finalizer is Kubewarden's controller finalizer, dropped",
      "in.yaml: document 1 (ClusterAdmissionPolicy privileged-pods): status: dropped (Palisade's controller writes its own)",
    ]);
    expect(levels(result)).toEqual(['note', 'note', 'note']);
    expect(result.findings.some(losesInformation)).toBe(false);
  });

  it('drops the legacy kubewarden finalizer and an emptied finalizers list', () => {
    const result = migrate(
      CAP.replace('  name: privileged-pods\n', '  name: p\n  finalizers: [kubewarden]\n'),
    );
    expect(result.output).not.toContain('finalizers');
    expect(lines(result)).toEqual([
      "in.yaml: document 1 (ClusterAdmissionPolicy p): metadata.finalizers: kubewarden is Kubewarden's controller finalizer, dropped",
    ]);
  });

  it('keeps labels and annotations with kubewarden keys, listing them only as verbose', () => {
    const result = migrate(
      CAP.replace(
        '  name: privileged-pods\n',
        '  name: p\n  labels: {app.kubernetes.io/part-of: kubewarden}\n  annotations:\n    io.kubewarden.policy.category: PSP\n    io.kubewarden.policy.severity: medium\n',
      ),
    );
    expect(result.output).toContain('io.kubewarden.policy.severity: medium');
    expect(result.findings).toEqual([
      expect.objectContaining({
        level: 'verbose',
        path: 'metadata.annotations["io.kubewarden.policy.category"], metadata.annotations["io.kubewarden.policy.severity"]',
      }),
    ]);
  });

  it('drops fields no schema defines, at any depth, as lost', () => {
    const text = `apiVersion: policies.kubewarden.io/v1
kind: AdmissionPolicyGroup
metadata: {name: g, namespace: team}
extra: top
spec:
  foo: 1
  constructor: 2
  namespaceSelector: {matchLabels: {a: b}}
  rules:
    - apiGroups: [""]
      apiVersions: [v1]
      resources: [pods]
      operations: [CREATE]
      typo: true
  objectSelector: {matchLabels: {a: b}, matchLabel: {c: d}}
  expression: "a()"
  message: denied
  policies:
    a:
      module: builtin://cel
      contextAwareResources: []
      settings: {anything: [goes, here]}
`;
    const result = migrate(text);
    expect(
      lines(result).map((l) => l.replace('in.yaml: document 1 (AdmissionPolicyGroup g): ', '')),
    ).toEqual([
      'extra: unknown field, dropped',
      'spec.foo: unknown field, dropped',
      'spec.constructor: unknown field, dropped',
      'spec.namespaceSelector: unknown field, dropped',
      'spec.rules[0].typo: unknown field, dropped',
      'spec.objectSelector.matchLabel: unknown field, dropped',
      'spec.policies.a.contextAwareResources: unknown field, dropped',
    ]);
    expect(levels(result).every((l) => l === 'lost')).toBe(true);
    const [out] = docs(result.output) as [{ spec: Record<string, unknown> }];
    expect(Object.keys(out.spec)).toEqual([
      'rules',
      'objectSelector',
      'expression',
      'message',
      'policies',
    ]);
    expect(out.spec['policies']).toEqual({
      a: { module: 'builtin://cel', settings: { anything: ['goes', 'here'] } },
    });
  });

  it('reports what the engine would refuse to load, field by field', () => {
    const result = migrate(
      CAP.replace('  mutating: false\n', '  timeoutSeconds: 1\n  mode: audit\n'),
    );
    expect(lines(result)).toEqual([
      'in.yaml: document 1 (ClusterAdmissionPolicy privileged-pods): spec.mutating: is required (Palisade will not load it)',
      'in.yaml: document 1 (ClusterAdmissionPolicy privileged-pods): spec.mode: must be one of protect, monitor (Palisade will not load it)',
      'in.yaml: document 1 (ClusterAdmissionPolicy privileged-pods): spec.timeoutSeconds: must be a whole number from 2 to 30 (Palisade will not load it)',
    ]);
    expect(levels(result)).toEqual(['action', 'action', 'action']);
  });

  it('reports a policy without a name', () => {
    const result = migrate(CAP.replace('  name: privileged-pods\n', '  labels: {a: b}\n'));
    expect(lines(result)).toEqual([
      'in.yaml: document 1 (ClusterAdmissionPolicy): metadata.name: is required (Palisade will not load it)',
    ]);
  });
});

describe('migrateManifests: v1alpha2', () => {
  const v1alpha2 = CAP.replace('/v1\n', '/v1alpha2\n');

  it('rewrites it and says that backgroundAudit now defaults to true', () => {
    const result = migrate(v1alpha2);
    expect(result.output).toMatch(/^apiVersion: policies\.palisade\.dev\/v1\n/);
    expect(lines(result)).toEqual([
      'in.yaml: document 1 (ClusterAdmissionPolicy privileged-pods): apiVersion: policies.kubewarden.io/v1alpha2 → policies.palisade.dev/v1: spec.backgroundAudit (new in v1) defaults to true, so background audits evaluate this policy; set it to false to keep v1alpha2 behaviour',
    ]);
    expect(levels(result)).toEqual(['note']);
  });

  it('flags v1-only fields Kubewarden pruned from a v1alpha2 document', () => {
    const result = migrate(
      v1alpha2.replace(
        '  mutating: false\n',
        '  mutating: false\n  backgroundAudit: false\n  namespaceSelector: {}\n  message: nope\n',
      ),
    );
    expect(result.findings.map((f) => [f.level, f.path])).toEqual([
      ['action', 'spec.backgroundAudit'],
      ['action', 'spec.message'],
    ]);
  });

  it('notes that a v1alpha2 PolicyServer changes nothing', () => {
    const result = migrate(
      'apiVersion: policies.kubewarden.io/v1alpha2\nkind: PolicyServer\nmetadata: {name: default}\nspec: {image: example.com/palisade/policy-server:v1, replicas: 1}\n',
    );
    expect(result.findings.map((f) => [f.level, f.message])).toEqual([
      [
        'note',
        'policies.kubewarden.io/v1alpha2 → policies.palisade.dev/v1: every v1alpha2 field is in v1 unchanged',
      ],
    ]);
  });

  it('copies a version or kind it does not know unchanged, and says so', () => {
    const group =
      'apiVersion: policies.kubewarden.io/v1alpha2\nkind: ClusterAdmissionPolicyGroup\nmetadata: {name: g}\n';
    const old =
      'apiVersion: policies.kubewarden.io/v1alpha1\nkind: ClusterAdmissionPolicy\nmetadata: {name: o}\n';
    const result = migrate(`${group}---\n${old}`);
    expect(result.output).toBe(`${group}---\n${old}`);
    expect(result.findings.map((f) => [f.level, f.path])).toEqual([
      ['action', 'apiVersion'],
      ['action', 'apiVersion'],
    ]);
    expect(result.findings[0]?.message).toMatch(/^copied unchanged: migrate knows /);
  });
});

describe('migrateManifests: PolicyServer', () => {
  const server = (spec: string): string =>
    `apiVersion: policies.kubewarden.io/v1\nkind: PolicyServer\nmetadata:\n  name: default\nspec:\n  replicas: 2\n${spec}`;

  it.each([
    'ghcr.io/kubewarden/policy-server:v1.20.0',
    'ghcr.io/kubewarden/adm-controller/policy-server:v1.37.0',
    'registry.example.com/mirror/kubewarden/policy-server@sha256:0123',
  ])('keeps Kubewarden’s image %s and asks for a Palisade one', (image) => {
    const result = migrate(server(`  image: ${image}\n`));
    expect(result.output).toContain(`image: ${image}`);
    expect(lines(result)).toEqual([
      `in.yaml: document 1 (PolicyServer default): spec.image: ${image} is Kubewarden's policy server, kept: set spec.image to a Palisade policy-server image`,
    ]);
    expect(result.findings.some(losesInformation)).toBe(true);
  });

  it('checks the result against Palisade’s PolicyServer schema', () => {
    const result = migrate(
      server('  image: example.com/palisade/policy-server:v1\n  webhookPort: 0\n'),
    );
    expect(lines(result)).toEqual([
      "in.yaml: document 1 (PolicyServer default): spec.webhookPort: must be a whole number from 1 to 65535 (Palisade's PolicyServer schema refuses it)",
    ]);
  });

  it('carries supported fields silently and reports the rest', () => {
    const result = migrate(
      server(`  image: example.com/palisade/policy-server:v1
  minAvailable: 1
  serviceAccountName: policy-server
  insecureSources: [registry.internal:5000]
  namespacedPoliciesCapabilities: ["oci/*"]
  verificationConfig: verification
  sigstoreTrustConfig: trust
  readinessProbePort: 8081
  metricsPort: 8080
  replica: 3
  env:
    - {name: KUBEWARDEN_LOG_LEVEL, value: debug}
    - {name: HTTPS_PROXY, value: http://proxy:3128}
    - {name: KUBEWARDEN_POLICY_TIMEOUT, value: "5"}
`),
    );
    expect(result.findings.map((f) => [f.level, f.path])).toEqual([
      ['action', 'spec.namespacedPoliciesCapabilities'],
      ['action', 'spec.sigstoreTrustConfig'],
      ['action', 'spec.readinessProbePort'],
      ['lost', 'spec.replica'],
      ['note', 'spec.verificationConfig'],
      ['action', 'spec.env[0]'],
      ['action', 'spec.env[2]'],
    ]);
    expect(result.findings[5]?.message).toContain('PALISADE_LOG_LEVEL');
    const [out] = docs(result.output) as [{ spec: Record<string, unknown> }];
    expect(out.spec['readinessProbePort']).toBe(8081);
    expect(out.spec['replica']).toBeUndefined();
  });
});
