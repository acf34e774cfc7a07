import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SIGSTORE_KEY_PEM_TYPE,
  encryptPrivateKey,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  publicKeyPem,
} from './keys.js';
import { signPayload, verifyPayload } from './signature.js';
import { thrown } from '../../../test/support/errors.js';

// cosign pkg/cosign/keys_test.go `pemsigstorekey`: a key written by cosign itself
// (scrypt + nacl/secretbox around PKCS#8), password "hello".
const COSIGN_SIGSTORE_KEY = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6
OCwicCI6MX0sInNhbHQiOiI3T3VGd2VsbWZZNXVId2NoaURSc210anNwZ2ZlZjFG
Mk5lOGFDTjVLYVpZPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJQNHk4OGhCb3ZTa09MbXN0bFVBaGJwdDJ0K2xTNUxQSCJ9LCJj
aXBoZXJ0ZXh0IjoiMnB1QzdyZldJOWh3bnJlQ2s4aUZDRlVwQlRrSzRJNlIvbFBF
cnBDekpXUGpJWXl4eGVIL1A2VW52cFJHdVhla1NNb3JMdGhLamdoQ1JlNy82NDVH
QWtoVm1LRC92eEF0S2EvbE1abENSQ3FlekJGUFd1dzNpeFRtZ2xhb2J1ZFVSbUVs
bmNGOGlZbzBTMVl6Y1ZOMVFwY2J2c0dNcUlYRzVlbmdteGp5dCtBcXlyZTF0Q0Y0
V01tU1BlaEljNlBqd2h1Q2xHaVpJUWRvTGc9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----`;

// cosign pkg/cosign/keys_test.go `pemcosignkey`: the older label (commented "RSA" there, but
// it holds a P-256 key), password "hello".
const COSIGN_LEGACY_KEY = `-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6
OCwicCI6MX0sInNhbHQiOiJ4WWdoc09JTUxUWGNOT0RsclNIOUNKc1FlOVFnZmN1
cmUrMXlLdHh1TlkwPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiI0cS9PSlVmaXJkSUkrUjZ0ajZBMmcyQ0JqL25xdFNicCJ9LCJj
aXBoZXJ0ZXh0IjoiKzB4Q3NzcFN0WStBczdKanJpOWtsbHBWd2JhcUI4ZWJNdWto
eS9aVE1MSXRsL3B1YS9jWVJvbytLRGxMWWdmOW1kSjk4K1FnQW9oTktoYnJPMTcw
MHdBY1JTMjFDOE4zQUNJRUVZaWpOMllBNnMraGJSbkhjUnd4eGhDMDFtb2FvL0dO
Y1pmbEJheXZMV3pXblo4d2NDZ2ZpT1o1VXlRTEFJMHh0dnR6dEh3cTdDV1Vhd3V4
RlhlNDZzck9TUE9SNHN6bytabWErUGovSFE9PSJ9
-----END ENCRYPTED COSIGN PRIVATE KEY-----`;

function keyMessage(fn: () => unknown): string {
  return thrown(fn, 'key_invalid').message;
}

describe('generateKeyPair', () => {
  it('gives PKCS#8 and SPKI PEM that sign and verify', () => {
    const pair = generateKeyPair();
    expect(pair.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pair.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const key = loadPrivateKey(pair.privateKey);
    const sig = signPayload(Buffer.from('x'), key);
    expect(verifyPayload(Buffer.from('x'), sig, loadPublicKey(pair.publicKey))).toBe(true);
    expect(publicKeyPem(key)).toBe(pair.publicKey);
  });
});

describe('loadPrivateKey', () => {
  it('reads SEC1 (EC PRIVATE KEY) as well as PKCS#8', () => {
    const pair = generateKeyPair();
    const sec1 = createPrivateKey(pair.privateKey)
      .export({ type: 'sec1', format: 'pem' })
      .toString();
    expect(sec1).toMatch(/BEGIN EC PRIVATE KEY/);
    expect(publicKeyPem(loadPrivateKey(Buffer.from(sec1)))).toBe(pair.publicKey);
  });

  it('decrypts keys written by cosign, under both PEM labels', () => {
    for (const pem of [COSIGN_SIGSTORE_KEY, COSIGN_LEGACY_KEY]) {
      const key = loadPrivateKey(pem, 'hello', 'cosign.key');
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    }
  });

  it('names the file and the reason for a wrong or missing password', () => {
    expect(keyMessage(() => loadPrivateKey(COSIGN_SIGSTORE_KEY, 'wrong', 'cosign.key'))).toBe(
      'cosign.key cannot be decrypted: wrong password, or the file is corrupted',
    );
    expect(keyMessage(() => loadPrivateKey(COSIGN_SIGSTORE_KEY, undefined, 'cosign.key'))).toBe(
      `cosign.key is encrypted (${SIGSTORE_KEY_PEM_TYPE}): a password is needed`,
    );
  });

  it('round-trips its own cosign-format encryption', () => {
    const pair = generateKeyPair();
    const sealed = encryptPrivateKey(loadPrivateKey(pair.privateKey), 'pw');
    expect(sealed).toMatch(/^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    const body = sealed.split('\n').slice(1, -2).join('');
    expect(Object.keys(JSON.parse(Buffer.from(body, 'base64').toString()) as object)).toEqual([
      'kdf',
      'cipher',
      'ciphertext',
    ]);
    expect(publicKeyPem(loadPrivateKey(sealed, 'pw'))).toBe(pair.publicKey);
  });

  it('reads password-protected PKCS#8', () => {
    const { privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'prime256v1',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    expect(loadPrivateKey(privateKey, 'pw').asymmetricKeyType).toBe('ec');
    expect(keyMessage(() => loadPrivateKey(privateKey, 'nope'))).toMatch(
      /^private key cannot be read/,
    );
  });

  it('refuses keys that are not P-256', () => {
    const p384 = generateKeyPairSync('ec', {
      namedCurve: 'secp384r1',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    expect(keyMessage(() => loadPrivateKey(p384.privateKey))).toMatch(/is an EC key on secp384r1/);
    expect(keyMessage(() => loadPublicKey(p384.publicKey))).toMatch(/is an EC key on secp384r1/);
    const rsa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    expect(keyMessage(() => loadPrivateKey(rsa.privateKey))).toMatch(/holds "RSA PRIVATE KEY"/);
    expect(keyMessage(() => loadPublicKey(rsa.publicKey, 'cosign.pub'))).toMatch(
      /^cosign.pub is a rsa key; Palisade signs and verifies with ECDSA P-256 keys only/,
    );
  });

  it('refuses what is not a key', () => {
    expect(keyMessage(() => loadPrivateKey('hello'))).toMatch(/is not PEM/);
    expect(
      keyMessage(() =>
        loadPrivateKey('-----BEGIN PRIVATE KEY-----\n%%%%\n-----END PRIVATE KEY-----'),
      ),
    ).toMatch(/malformed base64 body/);
    expect(
      keyMessage(() =>
        loadPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'),
      ),
    ).toMatch(/cannot be read/);
    expect(keyMessage(() => loadPrivateKey(generateKeyPair().publicKey))).toMatch(
      /holds "PUBLIC KEY"/,
    );
  });

  it('refuses cosign keys with unexpected or excessive parameters', () => {
    const envelope = (doc: object): string =>
      `-----BEGIN ${SIGSTORE_KEY_PEM_TYPE}-----\n${Buffer.from(JSON.stringify(doc)).toString('base64')}\n-----END ${SIGSTORE_KEY_PEM_TYPE}-----`;
    const salt = Buffer.alloc(32).toString('base64');
    const nonce = Buffer.alloc(24).toString('base64');
    const ciphertext = Buffer.alloc(48).toString('base64');
    const doc = (N: number, cipher = 'nacl/secretbox') => ({
      kdf: { name: 'scrypt', params: { N, r: 8, p: 1 }, salt },
      cipher: { name: cipher, nonce },
      ciphertext,
    });
    expect(keyMessage(() => loadPrivateKey(envelope(doc(1 << 24)), 'pw'))).toMatch(
      /scrypt parameters .* are out of range/,
    );
    expect(keyMessage(() => loadPrivateKey(envelope(doc(1000)), 'pw'))).toMatch(/out of range/);
    expect(keyMessage(() => loadPrivateKey(envelope(doc(16, 'aes')), 'pw'))).toMatch(
      /cipher "aes" is not nacl\/secretbox/,
    );
    expect(keyMessage(() => loadPrivateKey(envelope(doc(16)), 'pw'))).toMatch(/wrong password/);
  });
});

describe('loadPublicKey', () => {
  it('reads cosign.pub and refuses other blocks', () => {
    const pair = generateKeyPair();
    expect(loadPublicKey(pair.publicKey).type).toBe('public');
    expect(keyMessage(() => loadPublicKey(pair.privateKey, 'cosign.pub'))).toBe(
      'cosign.pub holds "PRIVATE KEY"; expected "PUBLIC KEY" as in cosign.pub',
    );
  });
});
