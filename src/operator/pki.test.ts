import {
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
} from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { isPalisadeError } from '../shared/errors.js';
import {
  certificateExpiry,
  createCertificateAuthority,
  issueServingCertificate,
  needsRotation,
  rotationReason,
  type CertificateAndKey,
} from './pki.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const SERVICE = 'policy-server-default.palisade-system.svc';
const NAMES = [SERVICE, `${SERVICE}.cluster.local`];

let ca: CertificateAndKey;
let serving: CertificateAndKey;

beforeAll(async () => {
  ca = await createCertificateAuthority({
    commonName: 'palisade-ca',
    validityDays: 3650,
    now: NOW,
  });
  serving = await issueServingCertificate(ca, {
    dnsNames: NAMES,
    ipAddresses: ['127.0.0.1', '::1'],
    validityDays: 365,
    now: NOW,
  });
});

/** Fails unless `p` rejects with a PalisadeError of `code` whose message contains `text`. */
async function expectRejection(p: Promise<unknown>, code: string, text = ''): Promise<void> {
  try {
    await p;
  } catch (e: unknown) {
    expect(isPalisadeError(e) ? e.code : String(e)).toBe(code);
    expect(String(e)).toContain(text);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('createCertificateAuthority', () => {
  it('is a self-signed ECDSA P-256 CA valid for the days asked, backdated for clock skew', () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=palisade-ca');
    expect(cert.issuer).toBe('CN=palisade-ca');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.validToDate.getTime()).toBe(NOW.getTime() + 3650 * DAY);
    expect(cert.validFromDate.getTime()).toBe(NOW.getTime() - 5 * 60_000);
    expect(cert.keyUsage).toBeUndefined(); // keyUsage here means extended key usage: none
    const key = createPrivateKey(ca.keyPem);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(
      createPublicKey(key)
        .export({ type: 'spki', format: 'der' })
        .equals(cert.publicKey.export({ type: 'spki', format: 'der' })),
    ).toBe(true);
  });

  it('gives every certificate its own positive serial number', async () => {
    const other = await createCertificateAuthority({
      commonName: 'palisade-ca',
      validityDays: 1,
      now: NOW,
    });
    const a = new X509Certificate(ca.certPem).serialNumber;
    const b = new X509Certificate(other.certPem).serialNumber;
    expect(a).not.toBe(b);
    expect(parseInt(a.slice(0, 2), 16)).toBeLessThan(0x80);
  });

  it('refuses an empty name and nonsense validity', async () => {
    await expectRejection(
      createCertificateAuthority({ commonName: ' ', validityDays: 1, now: NOW }),
      'config_invalid',
      'commonName',
    );
    for (const validityDays of [0, -1, 1.5, 1e9]) {
      await expectRejection(
        createCertificateAuthority({ commonName: 'x', validityDays, now: NOW }),
        'config_invalid',
        'validityDays',
      );
    }
  });
});

describe('issueServingCertificate', () => {
  it('chains to the CA, with the SANs, serverAuth and a leaf basicConstraints', () => {
    const cert = new X509Certificate(serving.certPem);
    const issuer = new X509Certificate(ca.certPem);
    expect(cert.checkIssued(issuer)).toBe(true);
    expect(cert.verify(issuer.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(cert.subject).toBe(`CN=${SERVICE}`);
    expect(cert.subjectAltName).toBe(
      `DNS:${NAMES[0]}, DNS:${NAMES[1]}, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1`,
    );
    expect(cert.checkHost(SERVICE)).toBe(SERVICE);
    expect(cert.checkHost('policy-server-other.palisade-system.svc')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.validToDate.getTime()).toBe(NOW.getTime() + 365 * DAY);
    expect(certificateExpiry(serving.certPem)).toEqual(cert.validToDate);
  });

  it('never outlives its CA', async () => {
    const shortCa = await createCertificateAuthority({
      commonName: 'short',
      validityDays: 10,
      now: NOW,
    });
    const leaf = await issueServingCertificate(shortCa, {
      dnsNames: NAMES,
      validityDays: 365,
      now: NOW,
    });
    expect(certificateExpiry(leaf.certPem)).toEqual(certificateExpiry(shortCa.certPem));
  });

  it('refuses bad names, no names, a foreign key, a key that is not P-256, a leaf as CA', async () => {
    const opts = { validityDays: 1, now: NOW, dnsNames: NAMES };
    await expectRejection(issueServingCertificate(ca, { ...opts, dnsNames: [] }), 'config_invalid');
    await expectRejection(
      issueServingCertificate(ca, { ...opts, dnsNames: ['Bad_Name.svc'] }),
      'config_invalid',
      'dnsNames[0]',
    );
    await expectRejection(
      issueServingCertificate(ca, { ...opts, ipAddresses: ['10.0.0.300'] }),
      'config_invalid',
      'ipAddresses[0]',
    );
    const other = await createCertificateAuthority({ commonName: 'o', validityDays: 1, now: NOW });
    await expectRejection(
      issueServingCertificate({ certPem: ca.certPem, keyPem: other.keyPem }, opts),
      'key_invalid',
      'does not belong',
    );
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    await expectRejection(
      issueServingCertificate({ certPem: ca.certPem, keyPem: p384 }, opts),
      'key_invalid',
      'P-256',
    );
    await expectRejection(issueServingCertificate(serving, opts), 'key_invalid', 'not a CA');
  });
});

describe('needsRotation', () => {
  const check = {
    renewBeforeDays: 30,
    caCertPem: '',
    dnsNames: NAMES,
    ipAddresses: ['::1', '127.0.0.1'],
  };
  const at = (days: number) => new Date(NOW.getTime() + days * DAY);

  it('keeps a fresh certificate from the current CA with the same SANs and key', () => {
    const c = { ...check, caCertPem: ca.certPem, keyPem: serving.keyPem };
    expect(rotationReason(serving.certPem, NOW, c)).toBeUndefined();
    expect(needsRotation(serving.certPem, at(334), c)).toBe(false);
    // IPv6 spelled out and DNS names in upper case and another order are the same SANs.
    const respelled = {
      ...c,
      dnsNames: [...NAMES].reverse().map((n) => n.toUpperCase()),
      ipAddresses: ['0:0:0:0:0:0:0:1', '127.0.0.1'],
    };
    expect(rotationReason(serving.certPem, NOW, respelled)).toBeUndefined();
  });

  it('renews inside the renew window and after expiry', () => {
    expect(rotationReason(serving.certPem, at(335), { renewBeforeDays: 30 })).toMatch(/expires at/);
    expect(needsRotation(serving.certPem, at(400), { renewBeforeDays: 0 })).toBe(true);
    expect(needsRotation(serving.certPem, at(364), { renewBeforeDays: 0 })).toBe(false);
  });

  it('renews a certificate that is not valid yet (clock moved back)', () => {
    expect(rotationReason(serving.certPem, at(-1), { renewBeforeDays: 30 })).toMatch(
      /not valid before/,
    );
  });

  it('renews when the CA was rotated', async () => {
    const next = await createCertificateAuthority({
      commonName: 'palisade-ca',
      validityDays: 9,
      now: NOW,
    });
    expect(
      rotationReason(serving.certPem, NOW, { renewBeforeDays: 1, caCertPem: next.certPem }),
    ).toBe('the certificate was not signed by the current CA');
  });

  it('renews when the SANs changed, in either direction', () => {
    expect(
      rotationReason(serving.certPem, NOW, { renewBeforeDays: 1, dnsNames: [NAMES[0]!] }),
    ).toMatch(/instead of/);
    expect(
      rotationReason(serving.certPem, NOW, {
        renewBeforeDays: 1,
        dnsNames: [...NAMES, 'policy-server-default'],
        ipAddresses: ['127.0.0.1', '::1'],
      }),
    ).toMatch(/instead of/);
  });

  it('renews when the stored key does not match or nothing is readable', async () => {
    expect(rotationReason(serving.certPem, NOW, { renewBeforeDays: 1, keyPem: ca.keyPem })).toBe(
      'the private key does not match the certificate',
    );
    expect(rotationReason(serving.certPem, NOW, { renewBeforeDays: 1, keyPem: 'junk' })).toMatch(
      /private key cannot be read/,
    );
    expect(rotationReason('junk', NOW, { renewBeforeDays: 1 })).toMatch(/cannot be read/);
    expect(() => certificateExpiry('junk')).toThrow(/not a PEM certificate/);
    await Promise.resolve();
  });
});

describe('a real TLS handshake', () => {
  it('succeeds for a client trusting only the CA, and fails for the wrong name or CA', async () => {
    const now = new Date();
    const liveCa = await createCertificateAuthority({ commonName: 'live', validityDays: 2, now });
    const cert = await issueServingCertificate(liveCa, {
      dnsNames: ['policy-server-default.palisade-system.svc'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 1,
      now,
    });
    const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => {
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const get = (ca: string, servername?: string) =>
      new Promise<string>((resolve, reject) => {
        const req = https.get(
          {
            host: '127.0.0.1',
            port,
            path: '/',
            ca,
            agent: false,
            ...(servername ? { servername } : {}),
          },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => {
              body += c.toString();
            });
            res.on('end', () => {
              resolve(body);
            });
          },
        );
        req.on('error', reject);
      });
    try {
      expect(await get(liveCa.certPem)).toBe('ok');
      expect(await get(liveCa.certPem, 'policy-server-default.palisade-system.svc')).toBe('ok');
      await expect(get(liveCa.certPem, 'policy-server-other.palisade-system.svc')).rejects.toThrow(
        /altnames/,
      );
      await expect(get(ca.certPem)).rejects.toThrow(/signature|verify|issuer/i);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
