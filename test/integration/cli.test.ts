import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { palisade, startServe } from './support/cli.js';

/**
 * The built CLI, run as users run it: a real process, real files, real sockets.
 * `npm test` builds dist/ before vitest runs.
 */
const REPLICA = join(import.meta.dirname, '../../policies/replica-limit');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-cli-'));
});

describe('palisade run', () => {
  it('rejects the 6-replica Deployment with the policy message', async () => {
    const r = await palisade(
      'run',
      '--policy',
      join(REPLICA, 'policy.yaml'),
      '--request',
      join(REPLICA, 'test/requests/deployment-6-replicas.json'),
    );
    expect(r.code).toBe(0);
    const review = JSON.parse(r.stdout) as {
      kind: string;
      response: { allowed: boolean; status: { message: string; code: number } };
    };
    expect(review.kind).toBe('AdmissionReview');
    expect(review.response.allowed).toBe(false);
    expect(review.response.status).toEqual({
      message: 'the number of replicas must be less than or equal to 5',
      code: 400,
    });
  });

  it('accepts a bare AdmissionRequest and a policies.yml with --policy-id and --settings-json', async () => {
    const policies = join(dir, 'policies.yml');
    await writeFile(
      policies,
      [
        'limit:',
        '  module: builtin://cel',
        '  settings:',
        '    validations:',
        '      - expression: object.spec.replicas <= 2',
        '        message: too many',
        'other:',
        '  module: builtin://cel',
        '  settings: {validations: [{expression: "true"}]}',
      ].join('\n'),
    );
    const review = JSON.parse(
      await readFile(join(REPLICA, 'test/requests/deployment-3-replicas.json'), 'utf8'),
    ) as { request: unknown };
    const bare = join(dir, 'bare.json');
    await writeFile(bare, JSON.stringify(review.request));
    const rejected = await palisade(
      'run',
      '--policy',
      policies,
      '--policy-id',
      'limit',
      '--request',
      bare,
    );
    expect(JSON.parse(rejected.stdout)).toMatchObject({
      response: { allowed: false, status: { message: 'too many' } },
    });
    const overridden = await palisade(
      'run',
      '--policy',
      policies,
      '--policy-id',
      'limit',
      '--request',
      bare,
      '--settings-json',
      '{"validations":[{"expression":"object.spec.replicas <= 3"}]}',
    );
    expect(JSON.parse(overridden.stdout)).toMatchObject({ response: { allowed: true } });
    const ambiguous = await palisade('run', '--policy', policies, '--request', bare);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('choose one of: limit, other');
  });

  it('names the field of a malformed request', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({ request: { uid: 'x', kind: { group: '', version: 'v1' } } }),
    );
    const r = await palisade('run', '--policy', join(REPLICA, 'policy.yaml'), '--request', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"request.kind.kind" must be a string');
  });
});

describe('palisade test', () => {
  it('prints one line per case and the closing totals; exits 1 on a failure', async () => {
    const suite = join(dir, 'suite.yaml');
    await writeFile(
      suite,
      [
        'policies:',
        `  - ${join(REPLICA, 'policy.yaml')}`,
        'cases:',
        '  - name: six is rejected',
        `    request: ${join(REPLICA, 'test/requests/deployment-6-replicas.json')}`,
        '    expect: {allowed: false, message: "less than or equal to 5", code: 400}',
        '  - name: a wrong expectation',
        `    request: ${join(REPLICA, 'test/requests/deployment-6-replicas.json')}`,
        '    expect: {allowed: true}',
      ].join('\n'),
    );
    const r = await palisade('test', suite);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('PASS six is rejected');
    expect(r.stdout).toContain(
      'FAIL a wrong expectation: expected allowed=true, got allowed=false',
    );
    expect(r.stdout.trim().split('\n').at(-1)).toBe('1 passed, 1 failed');
  });

  it('reports a malformed suite with its field path', async () => {
    const suite = join(dir, 'broken.yaml');
    await writeFile(
      suite,
      'policies: []\ncases:\n  - name: x\n    request: r.json\n    expect: {allowed: maybe}\n',
    );
    const r = await palisade('test', suite);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('suite.cases[0].expect.allowed');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('0 passed, 1 failed');
  });
});

describe('palisade serve', () => {
  it('serves the policies folder and exits 0 on SIGTERM', async () => {
    const { url, stop } = await startServe('--policies', join(REPLICA, '..'));
    const body = await readFile(join(REPLICA, 'test/requests/deployment-6-replicas.json'));
    const res = await fetch(`${url}/validate/clusterwide-replica-limit`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      response: {
        allowed: false,
        status: { message: 'the number of replicas must be less than or equal to 5' },
      },
    });
    expect(await stop()).toBe(0);
  });
});
