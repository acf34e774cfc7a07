import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { palisade, startServe } from './support/cli.js';

/**
 * The built CLI on the WebAssembly fixtures (built by `npm run fixtures` before vitest), run
 * as a user runs it: real processes, real modules, real files.
 */
const BUILD = join(import.meta.dirname, '../fixtures/wasm/build');
const REQUESTS = join(import.meta.dirname, '../fixtures/wasm/c/requests');

interface Review {
  response: { allowed: boolean; status?: { message?: string; code?: number }; warnings?: string[] };
}
const review = (stdout: string): Review['response'] => (JSON.parse(stdout) as Review).response;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-cli-wasm-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('palisade run with a module', () => {
  it('evaluates a waPC module with settings given on the command line', async () => {
    const r = await palisade(
      'run',
      '--policy',
      `file://${join(BUILD, 'c-wapc.wasm')}`,
      '--settings',
      '{"denied_names":["forbidden-pod"]}',
      '--request',
      join(REQUESTS, 'pod-denied-name.json'),
    );
    expect(r.stderr).toBe('');
    expect(review(r.stdout)).toMatchObject({
      allowed: false,
      status: { message: "pod name 'forbidden-pod' is on the deny list", code: 403 },
    });
  });

  it('needs --execution-mode for a Rego module without metadata, and runs it with one', async () => {
    const args = ['run', '--policy', join(BUILD, 'rego-gatekeeper.wasm'), '--request'];
    const request = join(REQUESTS, 'pod-privileged-container.json');
    const without = await palisade(...args, request);
    expect(review(without.stdout).status?.message).toContain(
      'a Rego module without metadata needs executionMode opa or gatekeeper',
    );
    const withMode = await palisade(...args, request, '--execution-mode', 'gatekeeper');
    expect(review(withMode.stdout).allowed).toBe(false);
    expect(review(withMode.stdout).status?.message).toMatch(
      /^container '.+' must not be privileged$/,
    );
  });

  it('records host-capability calls and replays them without the host', async () => {
    const session = join(dir, 'session.yml');
    const settings = JSON.stringify({
      host_call: { namespace: 'net', operation: 'v1/dns_lookup_host', payload: 'localhost' },
    });
    const common = ['run', '--policy', join(BUILD, 'c-wapc.wasm'), '--settings', settings];
    const request = ['--request', join(REQUESTS, 'pod-accept.json')];
    const recorded = await palisade(...common, ...request, '--record-host-capabilities', session);
    const warning = review(recorded.stdout).warnings?.[0] ?? '';
    expect(warning).toMatch(/^host answered: \{"ips":\[/);
    const yaml = await readFile(session, 'utf8');
    expect(yaml).toContain('type: Exchange');
    expect(yaml).toContain('localhost');
    const replayed = await palisade(...common, ...request, '--replay-host-capabilities', session);
    expect(review(replayed.stdout).warnings).toEqual([warning]);
  });
});

describe('palisade annotate and inspect', () => {
  it('writes metadata that inspect reads back and run then follows', async () => {
    const metadata = join(dir, 'metadata.yml');
    await writeFile(
      metadata,
      [
        'rules:',
        '  - apiGroups: [""]',
        '    apiVersions: [v1]',
        '    resources: [pods]',
        '    operations: [CREATE]',
        'mutating: true',
        'executionMode: wasi',
        'annotations:',
        '  io.kubewarden.policy.title: pod-guard-go',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'annotated.wasm');
    const annotated = await palisade(
      'annotate',
      join(BUILD, 'go-wasi.wasm'),
      '--metadata-path',
      metadata,
      '--output-path',
      out,
    );
    expect(annotated.stderr).toBe('');
    const inspected = await palisade('inspect', out, '--output', 'json');
    const info = JSON.parse(inspected.stdout) as {
      executionMode: string;
      metadata: { mutating: boolean; annotations: Record<string, string> };
    };
    expect(info.executionMode).toBe('wasi');
    expect(info.metadata.mutating).toBe(true);
    expect(info.metadata.annotations['io.kubewarden.policy.title']).toBe('pod-guard-go');
    const run = await palisade(
      'run',
      '--policy',
      out,
      '--request',
      join(REQUESTS, 'pod-privileged-init.json'),
    );
    expect(review(run.stdout).allowed).toBe(false);
  });

  it('rejects metadata with an invalid operation, naming the field', async () => {
    const metadata = join(dir, 'bad.yml');
    await writeFile(
      metadata,
      'rules:\n  - {apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREAT]}\nmutating: false\n',
    );
    const r = await palisade(
      'annotate',
      join(BUILD, 'c-wapc.wasm'),
      '-m',
      metadata,
      '-o',
      join(dir, 'never.wasm'),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('rules[0].operations[0]');
  });
});

describe('palisade bench', () => {
  it('prints mean, p50 and p99 of a sandboxed evaluation', async () => {
    const r = await palisade(
      'bench',
      '--policy',
      join(BUILD, 'c-wapc.wasm'),
      '--request',
      join(REQUESTS, 'pod-accept.json'),
      '--iterations',
      '200',
      '--warmup',
      '20',
    );
    expect(r.stdout).toMatch(/200 evaluations \(answer: allowed\)/);
    expect(r.stdout).toMatch(/mean [\d.]+ µs {2}p50 [\d.]+ µs {2}p99 [\d.]+ µs/);
  });
});

describe('palisade serve with WebAssembly policies', () => {
  it('answers from the sandbox and exits 0 on SIGTERM, sandbox threads included', async () => {
    const { url, stop } = await startServe('--policies', join(BUILD, '../c'));
    const res = await fetch(`${url}/validate/clusterwide-pod-guard-c-wapc`, {
      method: 'POST',
      body: await readFile(join(REQUESTS, 'pod-privileged-container.json')),
      headers: { 'content-type': 'application/json' },
    });
    expect(await res.json()).toMatchObject({
      response: {
        allowed: false,
        status: { message: "container 'nsenter' must not be privileged" },
      },
    });
    expect(await stop()).toBe(0);
  });
});
