import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  scryptSync,
  type KeyObject,
} from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { PalisadeError, errorMessage } from '../../shared/errors.js';

/**
 * Signing and verification keys, in the files cosign reads and writes. Palisade signs and
 * verifies with ECDSA P-256 only: it is cosign's default (`cosign generate-key-pair`) and
 * the scheme every Kubewarden policy key uses; other keys are refused with that reason
 * rather than producing signatures a verifier may not expect.
 *
 * Private keys may be PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`), password-protected
 * PKCS#8 (`ENCRYPTED PRIVATE KEY`) or cosign's own `cosign.key` (`ENCRYPTED SIGSTORE PRIVATE
 * KEY`, formerly `ENCRYPTED COSIGN PRIVATE KEY`): JSON holding PKCS#8 DER sealed with NaCl
 * secretbox (XSalsa20-Poly1305) under a scrypt-derived key. Node has scrypt but not
 * XSalsa20, hence `@noble/ciphers`. Passwords come in as arguments: reading COSIGN_PASSWORD
 * is the composition root's job.
 */

export const SIGSTORE_KEY_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_KEY_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY';

/** cosign's scrypt cost (go-securesystemslib `encrypted` defaults). */
const SCRYPT = { N: 32768, r: 8, p: 1 } as const;
/** Bounds on the cost a key file may ask for, so a crafted file cannot pin memory or CPU. */
const MAX_SCRYPT = { N: 1 << 20, r: 32, p: 16 } as const;

export interface GeneratedKeyPair {
  /** PKCS#8 PEM (`BEGIN PRIVATE KEY`). */
  readonly privateKey: string;
  /** SPKI PEM (`BEGIN PUBLIC KEY`), what `cosign.pub` holds. */
  readonly publicKey: string;
}

/** A fresh ECDSA P-256 key pair, as PEM. */
export function generateKeyPair(): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKey, publicKey };
}

/**
 * Loads a P-256 private key from PEM. `password` is needed for the encrypted kinds only;
 * `where` names the file in errors. Decrypting a cosign key runs scrypt synchronously
 * (about 0.1 s), which is fine for the CLI that signs.
 */
export function loadPrivateKey(
  pem: string | Uint8Array,
  password?: string | Uint8Array,
  where = 'private key',
): KeyObject {
  const block = pemBlock(pem, where);
  const needPassword = (): string | Uint8Array => {
    if (password === undefined)
      throw keyError(where, `is encrypted (${block.type}): a password is needed`);
    return password;
  };
  let key: KeyObject;
  try {
    switch (block.type) {
      case 'PRIVATE KEY':
        key = createPrivateKey({ key: block.der, format: 'der', type: 'pkcs8' });
        break;
      case 'EC PRIVATE KEY':
        key = createPrivateKey({ key: block.der, format: 'der', type: 'sec1' });
        break;
      case 'ENCRYPTED PRIVATE KEY':
        key = createPrivateKey({
          key: block.der,
          format: 'der',
          type: 'pkcs8',
          passphrase: Buffer.from(needPassword()),
        });
        break;
      case SIGSTORE_KEY_PEM_TYPE:
      case COSIGN_KEY_PEM_TYPE:
        key = createPrivateKey({
          key: Buffer.from(decryptCosignKey(block.der, needPassword(), where)),
          format: 'der',
          type: 'pkcs8',
        });
        break;
      default:
        throw keyError(where, `holds "${block.type}"; expected an ECDSA P-256 private key`);
    }
  } catch (e) {
    if (e instanceof PalisadeError) throw e;
    throw keyError(where, `cannot be read: ${errorMessage(e)}`, e);
  }
  return requireP256(key, where);
}

/** Loads a P-256 public key from SPKI PEM (`BEGIN PUBLIC KEY`, what `cosign.pub` holds). */
export function loadPublicKey(pem: string | Uint8Array, where = 'public key'): KeyObject {
  const block = pemBlock(pem, where);
  if (block.type !== 'PUBLIC KEY') {
    throw keyError(where, `holds "${block.type}"; expected "PUBLIC KEY" as in cosign.pub`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.der, format: 'der', type: 'spki' });
  } catch (e) {
    throw keyError(where, `cannot be read: ${errorMessage(e)}`, e);
  }
  return requireP256(key, where);
}

/** The public half of a private key, as SPKI PEM. */
export function publicKeyPem(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Seals a private key the way `cosign generate-key-pair` does, so cosign can use it:
 * `ENCRYPTED SIGSTORE PRIVATE KEY` PEM around Go-ordered JSON
 * `{kdf:{name,params:{N,r,p},salt}, cipher:{name,nonce}, ciphertext}`.
 */
export function encryptPrivateKey(key: KeyObject, password: string | Uint8Array): string {
  const der = requireP256(key, 'private key').export({ type: 'pkcs8', format: 'der' });
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const secret = scryptSync(Buffer.from(password), salt, 32, {
    ...SCRYPT,
    maxmem: scryptMemory(SCRYPT),
  });
  const ciphertext = xsalsa20poly1305(secret, nonce).encrypt(der);
  const json =
    `{"kdf":{"name":"scrypt","params":{"N":${SCRYPT.N},"r":${SCRYPT.r},"p":${SCRYPT.p}},` +
    `"salt":"${salt.toString('base64')}"},"cipher":{"name":"nacl/secretbox",` +
    `"nonce":"${nonce.toString('base64')}"},"ciphertext":"${Buffer.from(ciphertext).toString('base64')}"}`;
  const lines =
    Buffer.from(json)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${SIGSTORE_KEY_PEM_TYPE}-----\n${lines.join('\n')}\n-----END ${SIGSTORE_KEY_PEM_TYPE}-----\n`;
}

function requireP256(key: KeyObject, where: string): KeyObject {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const what =
      key.asymmetricKeyType === 'ec'
        ? `an EC key on ${curve ?? 'an unknown curve'}`
        : `a ${key.asymmetricKeyType ?? 'non-asymmetric'} key`;
    throw keyError(
      where,
      `is ${what}; Palisade signs and verifies with ECDSA P-256 keys only (cosign's default)`,
    );
  }
  return key;
}

interface PemBlock {
  readonly type: string;
  readonly der: Buffer;
}

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/;

function pemBlock(pem: string | Uint8Array, where: string): PemBlock {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  const match = PEM.exec(text);
  if (match === null) throw keyError(where, 'is not PEM (no matching BEGIN/END lines)');
  const [, type = '', body = ''] = match;
  const lines = body.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.some((l) => l.includes(':'))) {
    throw keyError(where, 'uses PEM headers (legacy OpenSSL encryption); convert it to PKCS#8');
  }
  const base64 = lines.join('').trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw keyError(where, `has a malformed base64 body in its ${type} block`);
  }
  return { type, der: Buffer.from(base64, 'base64') };
}

interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Node refuses scrypt above `maxmem`; give it what these parameters need, with room. */
function scryptMemory({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + p + 2) + 1024 * 1024;
}

function decryptCosignKey(body: Buffer, password: string | Uint8Array, where: string): Uint8Array {
  const bad = (why: string): PalisadeError =>
    keyError(where, `is not a readable cosign key: ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw bad('its body is not JSON');
  }
  const { kdf, cipher, ciphertext } = (doc ?? {}) as Record<string, unknown>;
  const k = (kdf ?? {}) as Record<string, unknown>;
  const c = (cipher ?? {}) as Record<string, unknown>;
  if (k['name'] !== 'scrypt') throw bad(`kdf ${JSON.stringify(k['name'])} is not scrypt`);
  if (c['name'] !== 'nacl/secretbox')
    throw bad(`cipher ${JSON.stringify(c['name'])} is not nacl/secretbox`);
  const params = (k['params'] ?? {}) as Record<string, unknown>;
  const { N, r, p } = params;
  if (
    !isInt(N, 2, MAX_SCRYPT.N) ||
    (N & (N - 1)) !== 0 ||
    !isInt(r, 1, MAX_SCRYPT.r) ||
    !isInt(p, 1, MAX_SCRYPT.p)
  ) {
    throw bad(`scrypt parameters ${JSON.stringify(params)} are out of range`);
  }
  const salt = base64Field(k['salt']);
  const nonce = base64Field(c['nonce']);
  const sealed = base64Field(ciphertext);
  if (salt === undefined || nonce?.length !== 24 || sealed === undefined || sealed.length < 16) {
    throw bad('salt, nonce (24 bytes) or ciphertext missing or malformed');
  }
  const secret = scryptSync(Buffer.from(password), salt, 32, {
    N,
    r,
    p,
    maxmem: scryptMemory({ N, r, p }),
  });
  try {
    return xsalsa20poly1305(secret, nonce).decrypt(sealed);
  } catch (e) {
    throw keyError(where, 'cannot be decrypted: wrong password, or the file is corrupted', e);
  }
}

function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function base64Field(value: unknown): Buffer | undefined {
  if (
    typeof value !== 'string' ||
    !/^[A-Za-z0-9+/]*={0,2}$/.test(value) ||
    value.length % 4 !== 0
  ) {
    return undefined;
  }
  return Buffer.from(value, 'base64');
}

function keyError(where: string, message: string, cause?: unknown): PalisadeError {
  return new PalisadeError(
    'key_invalid',
    `${where} ${message}`,
    cause === undefined ? {} : { cause },
  );
}
