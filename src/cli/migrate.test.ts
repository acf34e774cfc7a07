import { describe, expect, it } from 'vitest';
import { isPalisadeError } from '../shared/errors.js';
import {
  formatFinding,
  formatSummary,
  losesInformation,
  migrateManifests,
  type MigrationFinding,
  type MigrationResult,
} from './migrate.js';
import { CAP, docs } from './migrate-testdata.js';

function migrate(text: string, source = 'in.yaml'): MigrationResult {
  return migrateManifests([{ source, text }]);
}

/** The report as the CLI prints it (without the summary), for readable assertions. */
function lines(result: MigrationResult): string[] {
  return result.findings.map(formatFinding);
}

describe('migrateManifests: rewrites', () => {
  it('moves a v1 policy to policies.palisade.dev/v1 and changes nothing else', () => {
    const result = migrate(CAP);
    expect(result.output).toBe(
      CAP.replace('policies.kubewarden.io/v1', 'policies.palisade.dev/v1'),
    );
    expect(result.findings).toEqual([]);
    expect(result).toMatchObject({ documents: 1, rewritten: 1 });
    expect(formatSummary(result)).toBe(
      'palisade migrate: 1 document, 1 resource rewritten to policies.palisade.dev/v1; everything carried over',
    );
  });

  it.each(['AdmissionPolicy', 'ClusterAdmissionPolicyGroup', 'AdmissionPolicyGroup'])(
    'rewrites %s',
    (kind) => {
      const spec =
        kind === 'AdmissionPolicy'
          ? 'module: builtin://cel\n  mutating: false'
          : 'expression: "a()"\n  message: no\n  policies:\n    a: {module: builtin://cel}';
      const result = migrate(
        `apiVersion: policies.kubewarden.io/v1\nkind: ${kind}\nmetadata: {name: x, namespace: team}\nspec:\n  ${spec}\n  rules: [{apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE]}]\n`,
      );
      expect(result.output).toMatch(/^apiVersion: policies\.palisade\.dev\/v1\n/);
      expect(result.findings).toEqual([]);
    },
  );

  it('keeps comments, quoting, flow style and the file’s sequence indentation', () => {
    const text = `# exported from the staging cluster
apiVersion: policies.kubewarden.io/v1 # was Kubewarden's
kind: ClusterAdmissionPolicy
metadata:
  name: privileged-pods
  annotations:
    io.kubewarden.policy.severity: medium # shown by kubectl get -o wide
spec:
  # pinned by tag
  module: 'registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.5'
  rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
    operations:
    - CREATE
  mutating: false
  settings:
    description: >-
      a long description that goes well past eighty columns and must not be folded by the writer
status:
  policyStatus: active
`;
    const result = migrate(text);
    expect(result.output).toBe(
      text
        .replace('policies.kubewarden.io/v1', 'policies.palisade.dev/v1')
        .replace('status:\n  policyStatus: active\n', ''),
    );
  });

  it('keeps indented sequences indented', () => {
    const result = migrate(`${CAP}status: {}\n`);
    expect(result.output).toContain('  rules:\n    - apiGroups: [""]\n');
  });

  it('keeps documents in order, copying the untouched ones byte for byte', () => {
    const namespace =
      '---\n# tenants\napiVersion: v1\nkind:   Namespace\nmetadata: { name: "team" }\n';
    const deployment = '---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n...\n';
    const result = migrate(
      `${CAP}${namespace}---\n${CAP.replace('privileged-pods', 'two')}${deployment}`,
    );
    expect(result.output).toContain(namespace);
    expect(result.output).toContain(deployment);
    expect(
      docs(result.output).map((d) => (d as { metadata: { name: string } }).metadata.name),
    ).toEqual(['privileged-pods', 'team', 'two', 'web']);
    expect(result).toMatchObject({ documents: 4, rewritten: 2 });
  });

  it('joins several files into one stream and numbers documents per file', () => {
    const result = migrateManifests([
      { source: 'a.yaml', text: CAP },
      { source: 'b.yaml', text: `# second file\n${CAP.replace('privileged-pods', 'b')}status: {}` },
    ]);
    expect(docs(result.output)).toHaveLength(2);
    expect(result.output).toContain(
      'mutating: false\n---\n# second file\napiVersion: policies.palisade.dev/v1',
    );
    expect(result.output.endsWith('\n')).toBe(true);
    expect(lines(result)).toEqual([
      "b.yaml: document 1 (ClusterAdmissionPolicy b): status: dropped (Palisade's controller writes its own)",
    ]);
  });

  it('migrates the items of a kind: List (kubectl get -o yaml)', () => {
    const list = `apiVersion: v1
kind: List
items:
- apiVersion: policies.kubewarden.io/v1
  kind: ClusterAdmissionPolicy
  metadata: {name: privileged-pods}
  spec:
    module: builtin://cel
    rules: [{apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE]}]
    mutating: false
    bogus: 1
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: c}
metadata:
  resourceVersion: ""
`;
    const result = migrate(list);
    const [parsed] = docs(result.output) as [{ items: { apiVersion: string }[] }];
    expect(parsed.items.map((i) => i.apiVersion)).toEqual(['policies.palisade.dev/v1', 'v1']);
    expect(result.output).toBe(
      list.replace('kubewarden.io', 'palisade.dev').replace('    bogus: 1\n', ''),
    );
    expect(lines(result)).toEqual([
      'in.yaml: document 1, items[0] (ClusterAdmissionPolicy privileged-pods): spec.bogus: unknown field, dropped',
      'in.yaml: document 1, items[1] (ConfigMap c): not a Kubewarden resource, copied unchanged',
    ]);
    expect(result.rewritten).toBe(1);
  });

  it('expands aliases, so dropping an anchored node leaves none dangling', () => {
    const anchored = migrate(
      CAP.replace('spec:\n', 'status: &s {copied: [1, 2]}\nspec:\n').concat('  settings: *s\n'),
    );
    expect(anchored.output).toContain('  settings: {copied: [1, 2]}\n');
    expect(anchored.output).not.toContain('status');
  });

  it('passes empty and comment-only input through', () => {
    expect(migrate('').output).toBe('');
    expect(migrate('# nothing yet\n').output).toBe('# nothing yet\n');
    expect(migrate('# nothing yet\n').documents).toBe(0);
  });
});

describe('migrateManifests: documents it does not migrate', () => {
  it('copies Palisade documents unchanged, but still validates policies', () => {
    const palisade = CAP.replace('kubewarden.io', 'palisade.dev');
    const broken = palisade.replace('privileged-pods', 'broken').replace('  mutating: false\n', '');
    const result = migrate(`${palisade}---\n${broken}`);
    expect(result.output).toBe(`${palisade}---\n${broken}`);
    expect(result.rewritten).toBe(0);
    expect(result.findings.map((f) => [f.document, f.level, f.message])).toEqual([
      [1, 'verbose', 'already in policies.palisade.dev, copied unchanged'],
      [2, 'verbose', 'already in policies.palisade.dev, copied unchanged'],
      [2, 'action', 'is required (Palisade will not load it)'],
    ]);
  });

  it('copies other resources unchanged: verbose only, or a note for Kubewarden-managed ones', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: clusterwide-privileged-pods
  labels: {app.kubernetes.io/part-of: kubewarden}
---
- just
- a list
`;
    const result = migrate(text);
    expect(result.output).toBe(text);
    expect(result.findings.map((f) => [f.level, f.resource, f.message])).toEqual([
      ['verbose', 'Deployment web', 'not a Kubewarden resource, copied unchanged'],
      [
        'note',
        'ValidatingWebhookConfiguration clusterwide-privileged-pods',
        "managed by Kubewarden's controller or chart, copied unchanged",
      ],
      ['verbose', undefined, 'not a Kubernetes resource, copied unchanged'],
    ]);
    expect(formatSummary(result)).toBe(
      'palisade migrate: 3 documents, 0 resources rewritten to policies.palisade.dev/v1; everything carried over',
    );
  });
});

describe('migrateManifests: errors and report format', () => {
  it('refuses a YAML syntax error with the file, line and column', () => {
    let error: unknown;
    try {
      migrate(`${CAP}---\napiVersion: v1\nkind: a: b\nmetadata: {}\n`, 'bad.yaml');
    } catch (e) {
      error = e;
    }
    expect(isPalisadeError(error, 'file_unreadable')).toBe(true);
    expect((error as Error).message).toMatch(/^bad\.yaml:15:\d+: Nested mappings/);
  });

  it('refuses duplicate keys, which Kubernetes would resolve silently', () => {
    expect(() => migrate(`${CAP}kind: Other\n`)).toThrow(/^in\.yaml:13:1: Map keys must be unique/);
  });

  it('decides the exit code: lost and action findings lose information, notes do not', () => {
    const finding = (level: MigrationFinding['level']): MigrationFinding => ({
      source: 'x.yaml',
      document: 1,
      level,
      message: 'm',
    });
    expect(
      ['lost', 'action', 'note', 'verbose'].map((l) =>
        losesInformation(finding(l as MigrationFinding['level'])),
      ),
    ).toEqual([true, true, false, false]);
  });

  it('formats findings with and without resource and path', () => {
    const base = {
      source: 'x.yaml',
      document: 3,
      level: 'lost' as const,
      message: 'unknown field, dropped',
    };
    expect(
      formatFinding({
        ...base,
        resource: 'ClusterAdmissionPolicy privileged-pods',
        path: 'spec.foo',
      }),
    ).toBe(
      'x.yaml: document 3 (ClusterAdmissionPolicy privileged-pods): spec.foo: unknown field, dropped',
    );
    expect(formatFinding({ ...base, item: 2 })).toBe(
      'x.yaml: document 3, items[2]: unknown field, dropped',
    );
  });
});
