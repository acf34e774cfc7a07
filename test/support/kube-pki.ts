import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:10.0.0.1
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
`;

export interface Pki {
  readonly caPem: string;
  file(name: string): string;
  issueClient(name: string, user: string, groups: readonly string[]): Promise<void>;
}

/**
 * node:crypto makes keys but not certificates, so the openssl CLI signs (scripts/k8s-binaries.sh
 * ensures it is installed). ECDSA P-256 keys, one-week validity, as envtest's tinyca.
 */
export async function makePki(dir: string): Promise<Pki> {
  const pkiDir = join(dir, 'pki');
  const file = (name: string) => join(pkiDir, name);
  const cnf = file('openssl.cnf');
  const openssl = async (...args: string[]) => {
    try {
      await run('openssl', args, { cwd: pkiDir });
    } catch (e: unknown) {
      const stderr = (e as { stderr?: unknown }).stderr;
      throw new Error(`openssl ${args[0] ?? ''} failed: ${String(stderr ?? e)}`, { cause: e });
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const subject = (cn: string, groups: readonly string[]) =>
    [...groups.map((g) => `/O=${g}`), `/CN=${cn}`].join('');
  const issue = async (name: string, section: string, subj: string) => {
    await openssl(
      'req',
      '-new',
      '-config',
      cnf,
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subj,
    );
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '7',
      '-extfile',
      cnf,
      '-extensions',
      section,
      '-out',
      `${name}.crt`,
    );
  };
  await mkdir(pkiDir);
  await writeFile(cnf, OPENSSL_CONFIG);
  await openssl(
    'req',
    '-x509',
    '-config',
    cnf,
    '-extensions',
    'ca',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '7',
    '-subj',
    '/CN=palisade-test-ca',
  );
  await issue('apiserver', 'server', '/CN=kube-apiserver');
  await issue('admin', 'client', subject('admin', ['system:masters']));
  await openssl(
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-out',
    'sa.key',
  );
  await openssl('pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
  return {
    caPem: await readFile(file('ca.crt'), 'utf8'),
    file,
    issueClient: (name, user, groups) => issue(name, 'client', subject(user, groups)),
  };
}

export function kubeconfig(
  server: string,
  caPem: string,
  user: string,
  cert: string,
  key: string,
): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: palisade-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    'users:',
    `- name: ${JSON.stringify(user)}`,
    '  user:',
    `    client-certificate-data: ${b64(cert)}`,
    `    client-key-data: ${b64(key)}`,
    'contexts:',
    '- name: palisade-test',
    '  context:',
    '    cluster: palisade-test',
    `    user: ${JSON.stringify(user)}`,
    'current-context: palisade-test',
    '',
  ].join('\n');
}
