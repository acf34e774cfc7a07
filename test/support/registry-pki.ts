import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A CA and a server certificate it signed, for the registry and its token server. */
export interface ServerPki {
  readonly caPem: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** The self-signed key pair distribution trusts (`rootcertbundle`) for token signatures. */
export interface TokenSigningKey {
  readonly keyPem: string;
  readonly certFile: string;
  /** Base64 DER, the form the JWT `x5c` header carries. */
  readonly certDer: string;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

// Clients check the subjectAltName, not the CN, so both loopback spellings go in.
const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
`;

const EC_KEY = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';

/** node:crypto makes keys but not certificates, so the openssl CLI signs. */
async function openssl(dir: string, command: string): Promise<void> {
  const args = command.split(' ');
  try {
    await run('openssl', args, { cwd: dir });
  } catch (e: unknown) {
    const stderr = (e as { stderr?: unknown }).stderr;
    throw new Error(`openssl ${args[0] ?? ''} failed: ${String(stderr ?? e)}`, { cause: e });
  }
}

/**
 * A fresh CA per registry, so a test that trusts it trusts nothing else and a test that forgets
 * it fails the TLS handshake instead of silently falling back to the system store.
 */
export async function makeServerPki(dir: string): Promise<ServerPki> {
  await writeFile(join(dir, 'openssl.cnf'), OPENSSL_CONFIG);
  const req = `req -config openssl.cnf ${EC_KEY}`;
  const serial = `0x${randomBytes(8).toString('hex')}`;
  await openssl(
    dir,
    `${req} -x509 -days 2 -extensions ca -subj /CN=palisade-test-registry-ca -keyout ca.key -out ca.crt`,
  );
  await openssl(dir, `${req} -new -subj /CN=127.0.0.1 -keyout server.key -out server.csr`);
  await openssl(
    dir,
    `x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial ${serial} -days 2 -extfile openssl.cnf -extensions server -out server.crt`,
  );
  const file = (name: string) => join(dir, name);
  return {
    caPem: await readFile(file('ca.crt'), 'utf8'),
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    certPem: await readFile(file('server.crt'), 'utf8'),
    keyPem: await readFile(file('server.key'), 'utf8'),
  };
}

/** distribution verifies token signatures against a certificate chain, not a bare key. */
export async function makeTokenSigningKey(dir: string): Promise<TokenSigningKey> {
  await openssl(
    dir,
    `req -x509 ${EC_KEY} -days 2 -subj /CN=palisade-test-token-issuer -keyout token.key -out token.crt`,
  );
  const certFile = join(dir, 'token.crt');
  return {
    keyPem: await readFile(join(dir, 'token.key'), 'utf8'),
    certFile,
    certDer: new X509Certificate(await readFile(certFile)).raw.toString('base64'),
  };
}

/** Random per registry, so a client that sends stale or hard-coded credentials is caught. */
export function randomCredentials(): Credentials {
  return {
    username: `user-${randomBytes(4).toString('hex')}`,
    password: randomBytes(12).toString('base64url'),
  };
}

/** distribution's htpasswd backend accepts bcrypt only, which node:crypto cannot make. */
export async function writeHtpasswd(file: string, credentials: Credentials): Promise<void> {
  const { stdout } = await run('htpasswd', ['-Bbn', credentials.username, credentials.password]);
  await writeFile(file, stdout.trim() + '\n');
}
