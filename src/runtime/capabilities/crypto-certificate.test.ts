import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logger.js';
import {
  CERTIFICATE_NOT_TRUSTED_BY_CHAIN,
  CERTIFICATE_USED_AFTER_EXPIRATION,
  CERTIFICATE_USED_BEFORE_VALIDITY,
} from './crypto-certificate.js';
import { createHostCapabilities, type HostCapabilitiesOptions } from './host-capabilities.js';
import type { HostCallResult } from './types.js';

const APT_ENSURE = new URL('../../../scripts/apt-ensure.sh', import.meta.url).pathname;

/** A throw-away PKI made with the openssl CLI; `openssl ca` because only it takes past dates. */
class Pki {
  readonly dir = mkdtempSync(join(tmpdir(), 'palisade-pki-'));

  constructor() {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
    } catch {
      execFileSync('bash', [APT_ENSURE, 'openssl'], { stdio: 'inherit' });
    }
    mkdirSync(join(this.dir, 'newcerts'));
    writeFileSync(join(this.dir, 'index.txt'), '');
    writeFileSync(join(this.dir, 'serial'), '1000\n');
    writeFileSync(
      join(this.dir, 'ca.cnf'),
      `[ca]
default_ca = ca_default
[ca_default]
database = ${this.dir}/index.txt
new_certs_dir = ${this.dir}/newcerts
serial = ${this.dir}/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
[authority]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`,
    );
  }

  #openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
  }

  /**
   * Issues `name` (`.pem`, `.key`), signed by `issuer` or self-signed; dates are offsets in days
   * from now.
   */
  issue(name: string, options: { issuer?: string; ca: boolean; from: number; to: number }): string {
    const stamp = (days: number): string =>
      new Date(Date.now() + days * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(0, 14) +
      'Z';
    this.#openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}.palisade.test`,
    );
    const signer =
      options.issuer === undefined
        ? ['-selfsign', '-keyfile', `${name}.key`]
        : ['-cert', `${options.issuer}.pem`, '-keyfile', `${options.issuer}.key`];
    this.#openssl(
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      ...signer,
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
      '-startdate',
      stamp(options.from),
      '-enddate',
      stamp(options.to),
      '-extensions',
      options.ca ? 'authority' : 'leaf',
      '-notext',
    );
    return readFileSync(join(this.dir, `${name}.pem`), 'utf8');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const pem = (text: string): { encoding: 'Pem'; data: number[] } => ({
  encoding: 'Pem',
  data: [...Buffer.from(text)],
});
const der = (text: string): { encoding: 'Der'; data: number[] } => ({
  encoding: 'Der',
  data: [...new X509Certificate(text).raw],
});

async function verify(
  payload: unknown,
  options: Partial<HostCapabilitiesOptions> = {},
): Promise<HostCallResult> {
  const capabilities = createHostCapabilities({ logger: silentLogger(), ...options });
  return capabilities.call(
    {
      policyId: 'crypto',
      hostCapabilities: ['crypto/v1/is_certificate_trusted'],
      contextAwareResources: [],
    },
    {
      binding: 'kubewarden',
      namespace: 'crypto',
      operation: 'v1/is_certificate_trusted',
      payload: new TextEncoder().encode(JSON.stringify(payload)),
    },
    Date.now() + 5_000,
  );
}

async function trust(
  payload: unknown,
  options: Partial<HostCapabilitiesOptions> = {},
): Promise<unknown> {
  const result = await verify(payload, options);
  if (!result.ok) throw new Error(result.error);
  return JSON.parse(new TextDecoder().decode(result.payload));
}

const TRUSTED = { trusted: true, reason: '' };

describe('crypto/v1/is_certificate_trusted with certificates made by openssl', () => {
  const pki = new Pki();
  const certs: Record<string, string> = {};
  beforeAll(() => {
    certs['root'] = pki.issue('root', { ca: true, from: -730, to: 730 });
    certs['intermediate'] = pki.issue('intermediate', {
      issuer: 'root',
      ca: true,
      from: -365,
      to: 730,
    });
    certs['leaf'] = pki.issue('leaf', { issuer: 'intermediate', ca: false, from: -10, to: 10 });
    certs['direct'] = pki.issue('direct', { issuer: 'root', ca: false, from: -10, to: 10 });
    certs['expired'] = pki.issue('expired', {
      issuer: 'intermediate',
      ca: false,
      from: -365,
      to: -10,
    });
    certs['future'] = pki.issue('future', { issuer: 'intermediate', ca: false, from: 10, to: 365 });
    certs['old-intermediate'] = pki.issue('old-intermediate', {
      issuer: 'root',
      ca: true,
      from: -365,
      to: -10,
    });
    certs['under-old'] = pki.issue('under-old', {
      issuer: 'old-intermediate',
      ca: false,
      from: -365,
      to: 365,
    });
    certs['old-root'] = pki.issue('old-root', { ca: true, from: -365, to: -10 });
    certs['under-old-root'] = pki.issue('under-old-root', {
      issuer: 'old-root',
      ca: false,
      from: -365,
      to: 365,
    });
    certs['other-root'] = pki.issue('other-root', { ca: true, from: -730, to: 730 });
  });
  afterAll(() => {
    pki.remove();
  });
  const c = (name: string): string => certs[name] ?? '';

  it('trusts a leaf through an intermediate to the last certificate of the chain', async () => {
    expect(
      await trust({
        cert: pem(c('leaf')),
        cert_chain: [pem(c('intermediate')), pem(c('root'))],
        not_after: null,
      }),
    ).toEqual(TRUSTED);
  });

  it('trusts a leaf signed directly by the root, in DER as well as PEM', async () => {
    expect(await trust({ cert: pem(c('direct')), cert_chain: [pem(c('root'))] })).toEqual(TRUSTED);
    expect(
      await trust({ cert: der(c('leaf')), cert_chain: [der(c('intermediate')), der(c('root'))] }),
    ).toEqual(TRUSTED);
  });

  it('does not trust a leaf whose chain ends at another root', async () => {
    expect(await trust({ cert: pem(c('leaf')), cert_chain: [pem(c('other-root'))] })).toEqual({
      trusted: false,
      reason: CERTIFICATE_NOT_TRUSTED_BY_CHAIN,
    });
    // The intermediate alone is not an anchor for a leaf it did not sign directly... but it did:
    expect(await trust({ cert: pem(c('leaf')), cert_chain: [pem(c('intermediate'))] })).toEqual(
      TRUSTED,
    );
    // Without the intermediate the root cannot reach the leaf.
    expect(await trust({ cert: pem(c('leaf')), cert_chain: [pem(c('root'))] })).toEqual({
      trusted: false,
      reason: CERTIFICATE_NOT_TRUSTED_BY_CHAIN,
    });
  });

  it('uses the default roots without a chain, where a private CA is unknown', async () => {
    expect(await trust({ cert: pem(c('leaf')), not_after: null })).toEqual({
      trusted: false,
      reason: CERTIFICATE_NOT_TRUSTED_BY_CHAIN,
    });
    const roots = (): X509Certificate[] => [new X509Certificate(c('root'))];
    expect(await trust({ cert: pem(c('direct')) }, { rootCertificates: roots })).toEqual(TRUSTED);
  });

  it('reports an expired or not yet valid leaf before looking at the chain', async () => {
    expect(
      await trust({
        cert: pem(c('expired')),
        cert_chain: [pem(c('intermediate')), pem(c('root'))],
      }),
    ).toEqual({ trusted: false, reason: CERTIFICATE_USED_AFTER_EXPIRATION });
    expect(await trust({ cert: pem(c('expired')) })).toEqual({
      trusted: false,
      reason: CERTIFICATE_USED_AFTER_EXPIRATION,
    });
    expect(
      await trust({ cert: pem(c('future')), cert_chain: [pem(c('intermediate')), pem(c('root'))] }),
    ).toEqual({ trusted: false, reason: CERTIFICATE_USED_BEFORE_VALIDITY });
  });

  it('rejects an expired intermediate but, like webpki, not an expired root', async () => {
    expect(
      await trust({
        cert: pem(c('under-old')),
        cert_chain: [pem(c('old-intermediate')), pem(c('root'))],
      }),
    ).toEqual({ trusted: false, reason: CERTIFICATE_USED_AFTER_EXPIRATION });
    expect(
      await trust({ cert: pem(c('under-old-root')), cert_chain: [pem(c('old-root'))] }),
    ).toEqual(TRUSTED);
  });

  it('checks validity at not_after instead of now', async () => {
    const chain = [pem(c('intermediate')), pem(c('root'))];
    const at = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString();
    expect(await trust({ cert: pem(c('leaf')), cert_chain: chain, not_after: at(5) })).toEqual(
      TRUSTED,
    );
    expect(await trust({ cert: pem(c('leaf')), cert_chain: chain, not_after: at(20) })).toEqual({
      trusted: false,
      reason: CERTIFICATE_USED_AFTER_EXPIRATION,
    });
    expect(await trust({ cert: pem(c('leaf')), cert_chain: chain, not_after: at(-20) })).toEqual({
      trusted: false,
      reason: CERTIFICATE_USED_BEFORE_VALIDITY,
    });
    expect(
      await trust({ cert: pem(c('expired')), cert_chain: chain, not_after: at(-100) }),
    ).toEqual(TRUSTED);
    expect(await trust({ cert: pem(c('leaf')), cert_chain: chain, not_after: '' })).toEqual(
      TRUSTED,
    );
    expect(
      await trust({
        cert: pem(c('leaf')),
        cert_chain: chain,
        not_after: at(5).replace('Z', '+02:00'),
      }),
    ).toEqual(TRUSTED);
  });

  it('answers errors, not verdicts, for malformed input', async () => {
    expect(await verify({ cert: pem(c('leaf')), not_after: 'yesterday' })).toEqual({
      ok: false,
      error: 'Callback evaluation failure: Timestamp not_after is not in RFC3339 format',
    });
    const garbage = await verify({
      cert: pem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    });
    expect(!garbage.ok && garbage.error).toMatch(
      /^Callback evaluation failure: Certificate PEM data is not valid/,
    );
    const badDer = await verify({ cert: { encoding: 'Der', data: [1, 2, 3] } });
    expect(!badDer.ok && badDer.error).toMatch(
      /^Callback evaluation failure: Certificate is not a valid end-entity certificate/,
    );
  });

  it('does not accept a CA certificate as the end entity', async () => {
    expect(await trust({ cert: pem(c('intermediate')), cert_chain: [pem(c('root'))] })).toEqual({
      trusted: false,
      reason: 'Certificate not trusted: CaUsedAsEndEntity',
    });
  });
});
