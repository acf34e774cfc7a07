import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { palisade, startServe } from './support/cli.js';

/**
 * The user's path, through the built CLI and a real TLS registry with Basic auth: push a
 * module, serve a policy that names it by registry://, and keep serving from the module store
 * once the registry is gone.
 */
const BUILD = join(import.meta.dirname, '../fixtures/wasm/build');
const REQUESTS = join(import.meta.dirname, '../fixtures/wasm/c/requests');

let registry: TestRegistry;
let dir: string;
let oci: string[];

beforeAll(async () => {
  registry = await startRegistry({ auth: 'basic' });
  dir = await mkdtemp(join(tmpdir(), 'palisade-oci-cli-'));
  const { username, password } = registry.credentials ?? { username: '', password: '' };
  // The registry's own copy goes with it when it stops; a relative Path is read beside sources.yml.
  await writeFile(join(dir, 'ca.crt'), registry.caPem ?? '');
  await writeFile(
    join(dir, 'sources.yml'),
    `source_authorities:\n  "${registry.host}":\n    - type: Path\n      path: ca.crt\n`,
  );
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      auths: {
        [registry.host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') },
      },
    }),
  );
  oci = [
    '--sources-path',
    join(dir, 'sources.yml'),
    '--docker-config-json-path',
    join(dir, 'config.json'),
    '--policies-download-dir',
    join(dir, 'store'),
  ];
});
afterAll(async () => {
  await registry.stop();
  await rm(dir, { recursive: true, force: true });
});

async function validate(url: string, policy: string, request: string) {
  const res = await fetch(`${url}/validate/${policy}`, {
    method: 'POST',
    body: await readFile(join(REQUESTS, request)),
    headers: { 'content-type': 'application/json' },
  });
  return (
    (await res.json()) as {
      response: { allowed: boolean; status?: { code?: number; message?: string } };
    }
  ).response;
}

describe('palisade push, digest, pull, policies, rm', () => {
  it('pushes, resolves, pulls, lists and removes a module', async () => {
    const ref = `registry://${registry.host}/policies/tools:v1`;
    const pushed = await palisade('push', join(BUILD, 'c-wapc.wasm'), ref, ...oci);
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    const immutable = pushed.stdout.trim();
    expect(immutable).toMatch(
      new RegExp(`^registry://${registry.host}/policies/tools@sha256:[a-f0-9]{64}$`),
    );
    const digest = immutable.slice(immutable.indexOf('@') + 1);

    expect((await palisade('digest', ref, ...oci)).stdout).toBe(`${ref}@${digest}\n`);

    const pulled = await palisade('pull', ref, ...oci);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toContain(`${ref} manifest ${digest}`);

    const listed = await palisade('policies', ...oci, '--output', 'json');
    const entries = JSON.parse(listed.stdout) as {
      reference: string;
      manifestDigest: string;
      size: number;
    }[];
    const size = (await readFile(join(BUILD, 'c-wapc.wasm'))).length;
    expect(entries).toContainEqual(
      expect.objectContaining({ reference: ref, manifestDigest: digest, size }),
    );
    expect((await palisade('policies', ...oci)).stdout).toContain(ref);

    expect((await palisade('rm', ref, ...oci)).stdout).toBe(`removed ${ref}\n`);
    const again = await palisade('rm', ref, ...oci);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`[reference_invalid] ${ref} is not in the module store`);
  });

  it('refuses to push a module without metadata unless forced', async () => {
    const ref = `registry://${registry.host}/policies/bare:v1`;
    const refused = await palisade('push', join(BUILD, 'hostile-trap.wasm'), ref, ...oci);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('[metadata_invalid]');
    expect(refused.stderr).toContain('push with --force');
    const forced = await palisade('push', join(BUILD, 'hostile-trap.wasm'), ref, ...oci, '--force');
    expect(forced.code).toBe(0);
  });

  it('names the file when sources.yml is malformed', async () => {
    await writeFile(join(dir, 'bad-sources.yml'), 'insecure_sources: 5\n');
    const r = await palisade(
      'digest',
      `registry://${registry.host}/policies/tools:v1`,
      '--sources-path',
      join(dir, 'bad-sources.yml'),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `[config_invalid] ${join(dir, 'bad-sources.yml')}: insecure_sources: must be a list of host[:port]`,
    );
  });
});

describe('a policy server with registry:// modules', () => {
  it('serves a pushed module, rejects the broken policy, and keeps serving once the registry is gone', async () => {
    const ref = `registry://${registry.host}/policies/pod-guard:v1`;
    expect((await palisade('push', join(BUILD, 'c-wapc.wasm'), ref, ...oci)).code).toBe(0);
    const policies = join(dir, 'policies.yml');
    await writeFile(
      policies,
      `pod-guard:
  module: ${ref}
  settings:
    denied_names: [forbidden-pod]
missing:
  module: registry://${registry.host}/policies/pod-guard:no-such-tag
`,
    );
    const serve = async () => startServe('--policies', policies, ...oci);

    const first = await serve();
    try {
      expect(await validate(first.url, 'pod-guard', 'pod-accept.json')).toMatchObject({
        allowed: true,
      });
      expect(await validate(first.url, 'pod-guard', 'pod-denied-name.json')).toMatchObject({
        allowed: false,
        status: { message: "pod name 'forbidden-pod' is on the deny list" },
      });
      const broken = await validate(first.url, 'missing', 'pod-accept.json');
      expect(broken.allowed).toBe(false);
      expect(broken.status?.code).toBe(500);
      expect(broken.status?.message).toContain('policy "missing"');
      expect(broken.status?.message).toContain(`${registry.host}/policies/pod-guard:no-such-tag`);
      expect(broken.status?.message).toContain('MANIFEST_UNKNOWN');
    } finally {
      expect(await first.stop()).toBe(0);
    }

    await registry.stop();
    const second = await serve();
    try {
      expect(await validate(second.url, 'pod-guard', 'pod-denied-name.json')).toMatchObject({
        allowed: false,
        status: { message: "pod name 'forbidden-pod' is on the deny list" },
      });
      expect(await validate(second.url, 'pod-guard', 'pod-accept.json')).toMatchObject({
        allowed: true,
      });
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
