import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/oci/client.js';
import { parseImageReference } from '../../src/oci/reference.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { palisade, startServe } from './support/cli.js';

/**
 * cosign-style signatures end to end: keys made by openssl as a user would, `palisade sign`
 * and `palisade verify` through the built CLI, and a policy server that refuses unsigned
 * modules under a verification.yml, against a real registry with Bearer tokens.
 */
const BUILD = join(import.meta.dirname, '../fixtures/wasm/build');
const REQUESTS = join(import.meta.dirname, '../fixtures/wasm/c/requests');

let registry: TestRegistry;
let dir: string;
let store: string[];
let signed: string;
let unsigned: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

beforeAll(async () => {
  registry = await startRegistry({ auth: 'token' });
  dir = await mkdtemp(join(tmpdir(), 'palisade-signing-'));
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'sec1.key'));
  openssl('pkey', '-in', join(dir, 'sec1.key'), '-pubout', '-out', join(dir, 'sec1.pub'));
  openssl(
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    join(dir, 'other.key'),
  );
  openssl('pkey', '-in', join(dir, 'other.key'), '-pubout', '-out', join(dir, 'other.pub'));
  store = ['--policies-download-dir', join(dir, 'store')];
  signed = `registry://${registry.host}/policies/signed:v1`;
  unsigned = `registry://${registry.host}/policies/unsigned:v1`;
  for (const ref of [signed, unsigned]) {
    expect((await palisade('push', join(BUILD, 'c-wapc.wasm'), ref)).code).toBe(0);
  }
});
afterAll(async () => {
  await registry.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('palisade sign and verify', () => {
  it('signs with cosign layout and verifies with the right key and annotations only', async () => {
    const signedOut = await palisade(
      'sign',
      signed,
      '--key',
      join(dir, 'sec1.key'),
      '-a',
      'env=prod',
    );
    expect(signedOut.stderr).toBe('');
    const [, digest] = /@(sha256:[a-f0-9]{64}) signed: /.exec(signedOut.stdout) ?? [];
    expect(digest).toBeDefined();
    expect(signedOut.stdout).toContain(
      `${registry.host}/policies/signed:sha256-${digest?.slice(7) ?? ''}.sig`,
    );

    // The signature image, read back as cosign would find it.
    const client = new RegistryClient({ now: Date.now });
    const sig = await client.manifest(
      parseImageReference(`${registry.host}/policies/signed:sha256-${digest?.slice(7) ?? ''}.sig`),
    );
    const layers = (
      JSON.parse(sig.body.toString()) as {
        layers: { mediaType: string; annotations: Record<string, string> }[];
      }
    ).layers;
    expect(layers).toHaveLength(1);
    expect(layers[0]?.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    expect(layers[0]?.annotations['dev.cosignproject.cosign/signature']).toMatch(
      /^[A-Za-z0-9+/=]+$/,
    );

    const again = await palisade('sign', signed, '--key', join(dir, 'sec1.key'), '-a', 'env=prod');
    expect(again.stdout).toContain('already signed with this key');

    const ok = await palisade('verify', signed, '--key', join(dir, 'sec1.pub'), '-a', 'env=prod');
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(`${signed}@${digest ?? ''} verified: allOf[0] (pubKey)\n`);

    const wrongKey = await palisade('verify', signed, '--key', join(dir, 'other.pub'));
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toContain('[verification_failed]');
    expect(wrongKey.stderr).toContain('no signature verifies with this key');

    const wrongAnnotation = await palisade(
      'verify',
      signed,
      '--key',
      join(dir, 'sec1.pub'),
      '-a',
      'env=dev',
    );
    expect(wrongAnnotation.code).toBe(2);
    expect(wrongAnnotation.stderr).toContain('[verification_failed]');
    expect(wrongAnnotation.stderr).toContain('env');

    const none = await palisade('verify', unsigned, '--key', join(dir, 'sec1.pub'));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('it has no signatures');
  });
});

describe('a policy server with a verification config', () => {
  it('loads signed modules, refuses unsigned ones, and trusts the verified cache offline', async () => {
    await palisade('sign', signed, '--key', join(dir, 'sec1.key'));
    const key = await readFile(join(dir, 'sec1.pub'), 'utf8');
    const verification = join(dir, 'verification.yml');
    await writeFile(
      verification,
      `apiVersion: v1\nallOf:\n  - kind: pubKey\n    owner: platform\n    key: |\n${key
        .trim()
        .split('\n')
        .map((l) => `      ${l}`)
        .join('\n')}\n`,
    );
    const policies = join(dir, 'policies.yml');
    await writeFile(
      policies,
      `signed:\n  module: ${signed}\n  settings: {denied_names: [forbidden-pod]}\nunsigned:\n  module: ${unsigned}\n  settings: {}\nlocal:\n  module: file://${join(BUILD, 'c-wapc.wasm')}\n  settings: {}\n`,
    );
    const args = ['--policies', policies, '--verification-path', verification, ...store];
    const validate = async (url: string, id: string) => {
      const res = await fetch(`${url}/validate/${id}`, {
        method: 'POST',
        body: await readFile(join(REQUESTS, 'pod-denied-name.json')),
        headers: { 'content-type': 'application/json' },
      });
      return (
        (await res.json()) as {
          response: { allowed: boolean; status?: { code?: number; message?: string } };
        }
      ).response;
    };

    // Pulled without verification: in the store, but it never passed this config.
    expect((await palisade('pull', unsigned, ...store)).code).toBe(0);
    const server = await startServe(...args);
    try {
      expect(await validate(server.url, 'signed')).toMatchObject({
        allowed: false,
        status: { message: "pod name 'forbidden-pod' is on the deny list" },
      });
      const refused = await validate(server.url, 'unsigned');
      expect(refused.status?.code).toBe(500);
      expect(refused.status?.message).toContain('policy "unsigned"');
      expect(refused.status?.message).toContain('it has no signatures');
      const local = await validate(server.url, 'local');
      expect(local.status?.code).toBe(500);
      expect(local.status?.message).toContain('only registry:// modules carry signatures');
    } finally {
      expect(await server.stop()).toBe(0);
    }

    await registry.stop();
    const offline = await startServe(...args);
    try {
      expect(await validate(offline.url, 'signed')).toMatchObject({
        allowed: false,
        status: { message: "pod name 'forbidden-pod' is on the deny list" },
      });
      const unverified = await validate(offline.url, 'unsigned');
      expect(unverified.status?.code).toBe(500);
      expect(unverified.status?.message).toContain(
        'was never verified with the current verification config, so it is not used',
      );
    } finally {
      expect(await offline.stop()).toBe(0);
    }
  });

  it('refuses keyless entries at start-up: they need the internet', async () => {
    const verification = join(dir, 'keyless.yml');
    await writeFile(
      verification,
      'apiVersion: v1\nallOf:\n  - kind: githubAction\n    owner: kubewarden\n',
    );
    const r = await palisade('pull', signed, '--verification-path', verification, ...store);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[verification_unsupported]');
    expect(r.stderr).toContain('allOf[0] (githubAction)');
    expect(r.stderr).toContain('not supported offline');
  });
});
