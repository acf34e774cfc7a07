import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CLI, palisade } from './support/cli.js';

/**
 * `palisade migrate` as users run it on an export of a Kubewarden cluster. `npm test` builds
 * dist/ before vitest runs.
 */
const FIXTURES = join(import.meta.dirname, '../fixtures/migrate');
const KUBEWARDEN = join(FIXTURES, 'kubewarden.yaml');
const REQUESTS = join(import.meta.dirname, '../../policies/replica-limit/test/requests');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-migrate-'));
});

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; finalizers?: string[] };
  spec?: Record<string, unknown>;
  status?: unknown;
}

describe('palisade migrate', () => {
  it('rewrites a Kubewarden export and reports what it could not carry over', async () => {
    const r = await palisade('migrate', KUBEWARDEN);
    expect(r.code).toBe(1);
    const docs = parseAllDocuments(r.stdout).map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as Resource;
    });
    expect(docs.map((d) => `${d.apiVersion} ${d.kind} ${d.metadata.name}`)).toEqual([
      'policies.palisade.dev/v1 ClusterAdmissionPolicy privileged-pods',
      'policies.palisade.dev/v1 AdmissionPolicy psp-capabilities',
      'policies.palisade.dev/v1 ClusterAdmissionPolicyGroup demo',
      'v1 Namespace payments',
      'policies.palisade.dev/v1 PolicyServer default',
    ]);
    const [cap, ap] = docs;
    expect(cap?.status).toBeUndefined();
    expect(cap?.metadata.finalizers).toBeUndefined();
    expect(ap?.spec?.['namespaceSelector']).toBeUndefined();
    expect(r.stdout).toContain('# Pin the module by tag; the policy server pulls it at start-up.');
    expect(r.stdout).toContain('io.kubewarden.policy.severity: medium # shown by');

    const report = r.stderr.trimEnd().split('\n');
    const at = (n: number, resource: string) => `${KUBEWARDEN}: document ${n} (${resource}): `;
    expect(report).toEqual([
      `${at(1, 'ClusterAdmissionPolicy privileged-pods')}metadata.creationTimestamp, metadata.generation, metadata.resourceVersion, metadata.uid: set for the Kubewarden object by the API server, dropped`,
      `${at(1, 'ClusterAdmissionPolicy privileged-pods')}metadata.finalizers: kubewarden.io/finalizer is Kubewarden's controller finalizer, dropped`,
      `${at(1, 'ClusterAdmissionPolicy privileged-pods')}status: dropped (Palisade's controller writes its own)`,
      `${at(2, 'AdmissionPolicy psp-capabilities')}spec.namespaceSelector: unknown field, dropped`,
      `${at(5, 'PolicyServer default')}metadata.finalizers: kubewarden is Kubewarden's controller finalizer, dropped`,
      `${at(5, 'PolicyServer default')}spec.readinessProbePort: not supported by Palisade yet: its policy server answers /readiness on the webhook port; kept`,
      `${at(5, 'PolicyServer default')}spec.image: ghcr.io/kubewarden/policy-server:v1.20.0 is Kubewarden's policy server, kept: set spec.image to a Palisade policy-server image`,
      `${at(5, 'PolicyServer default')}spec.env[0]: KUBEWARDEN_LOG_LEVEL is read by Kubewarden's policy server only, kept (PALISADE_LOG_LEVEL is the equivalent)`,
      'palisade migrate: 5 documents, 4 resources rewritten to policies.palisade.dev/v1; 4 findings lose information or need action',
    ]);
  });

  it('lists documents copied unchanged with --verbose', async () => {
    const r = await palisade('migrate', '--verbose', KUBEWARDEN);
    expect(r.stderr).toContain(
      `${KUBEWARDEN}: document 4 (Namespace payments): not a Kubewarden resource, copied unchanged`,
    );
  });

  it('writes --output, exits 0 when nothing is lost, and the result runs', async () => {
    const out = join(dir, 'cel-policy.yaml');
    const r = await palisade('migrate', join(FIXTURES, 'cel-policy.yaml'), '-o', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('spec.backgroundAudit (new in v1) defaults to true');
    expect(await readFile(out, 'utf8')).toMatch(
      /^# A Kubewarden v1alpha2 policy.*\napiVersion: policies\.palisade\.dev\/v1\n/,
    );

    const run = await palisade(
      'run',
      '--policy',
      out,
      '--request',
      join(REQUESTS, 'deployment-6-replicas.json'),
    );
    expect(run.code).toBe(0);
    const review = JSON.parse(run.stdout) as { response: { allowed: boolean; status: unknown } };
    expect(review.response).toMatchObject({
      allowed: false,
      status: { message: 'at most 5 replicas', code: 400 },
    });
  });

  it('reads stdin from -', () => {
    const r = spawnSync(process.execPath, [CLI, 'migrate', '-'], {
      input:
        'apiVersion: policies.kubewarden.io/v1\nkind: PolicyServer\nmetadata: {name: p}\nspec: {image: example.com/palisade:v1, replicas: 1}\n',
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      'apiVersion: policies.palisade.dev/v1\nkind: PolicyServer\nmetadata: {name: p}\nspec: {image: example.com/palisade:v1, replicas: 1}\n',
    );
  });

  it('exits 2 on a YAML syntax error, naming the file and line', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'apiVersion: policies.kubewarden.io/v1\nkind: a: b\n');
    const r = await palisade('migrate', bad);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^palisade: \\[file_unreadable\\] ${bad}:2:\\d+: `));
  });

  it('exits 2 on a missing file and on usage errors, and documents the exit codes', async () => {
    expect((await palisade('migrate', join(dir, 'missing.yaml'))).code).toBe(2);
    expect((await palisade('migrate')).code).toBe(2);
    const help = await palisade('migrate', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
  });
});
