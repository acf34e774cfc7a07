import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { kubeconfig, makePki } from './kube-pki.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface KubeApiServerOptions {
  /** Where kube-apiserver and etcd live; default: what `scripts/k8s-binaries.sh --print-dir` names. */
  readonly binDir?: string;
  /** Budget for etcd and the API server to become ready; a loaded 2-core CI machine needs slack. */
  readonly startTimeoutMs?: number;
  /** Extra kube-apiserver flags (feature gates, admission plugins...), appended last so they win. */
  readonly extraArgs?: readonly string[];
}

/** A throw-away control plane: etcd plus kube-apiserver on loopback, RBAC on, nothing else. */
export interface KubeApiServer {
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** Kubeconfig of `admin` in `system:masters`, with the certificates embedded. */
  readonly kubeconfigPath: string;
  readonly caPem: string;
  readonly adminCertPem: string;
  readonly adminKeyPem: string;
  readonly etcdEndpoint: string;
  /** Scratch directory holding PKI, logs and etcd data; removed by `stop()`. */
  readonly dir: string;
  /** From spawning etcd to kube-apiserver answering /readyz. */
  readonly startupMs: number;
  /**
   * etcd's and kube-apiserver's process ids, so tests can prove nothing outlives `stop()`; the
   * API server's changes with each {@link KubeApiServer.restartApiServer}.
   */
  readonly pids: readonly number[];
  /** A kubeconfig for a user subject to RBAC, signed by the cluster CA. */
  userKubeconfig(user: string, groups?: readonly string[]): Promise<string>;
  /**
   * One request as admin with `body` sent as JSON exactly as given, for seeding: the client
   * library re-encodes objects through its typed models and silently drops fields it does not
   * know (`x-kubernetes-preserve-unknown-fields`, a custom resource's `spec`). Resolves to the
   * parsed reply; rejects on a non-2xx status with the server's message.
   */
  request(method: string, path: string, body?: unknown): Promise<unknown>;
  /**
   * Stops kube-apiserver (TERM, as a rolling update or a crash-looping node would) and starts it
   * again on the same port with the same flags and etcd, resolving once /readyz answers ok.
   * Meanwhile clients see their watches end and connections refused; objects and their
   * resourceVersions survive in etcd. For tests of reconnecting clients. Rejects with the log
   * tail when the server does not come back.
   */
  restartApiServer(): Promise<void>;
  /** Stops both processes (TERM, then KILL after a grace period) and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

const GRACE_MS = 5_000;
const LOG_TAIL_LINES = 40;

/**
 * Starts a fresh etcd and kube-apiserver the way controller-runtime's envtest does, because the
 * house rule is real components, not mocks. No controllers run: namespaces never finish
 * terminating, nothing garbage-collects, no Deployment gets Pods. Throws, with the logs' tail,
 * when a binary is missing or the server does not come up: tests needing it must never skip.
 */
export async function startKubeApiServer(
  options: KubeApiServerOptions = {},
): Promise<KubeApiServer> {
  const binDir = options.binDir ?? (await defaultBinDir());
  for (const name of ['kube-apiserver', 'etcd']) {
    if (!existsSync(join(binDir, name))) {
      throw new Error(`${name} not found in ${binDir}: run \`bash scripts/k8s-binaries.sh\` first`);
    }
  }
  // Ports are picked free and then bound by a child, so another process may win the race; retry.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binDir, options);
    } catch (e: unknown) {
      if (attempt >= 3 || !(e instanceof Error) || !e.message.includes('address already in use')) {
        throw e;
      }
    }
  }
}

async function startOnce(binDir: string, options: KubeApiServerOptions): Promise<KubeApiServer> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'palisade-kube-'));
  const children: Child[] = [];
  const killAll = () => {
    for (const c of children) c.process.kill('SIGKILL');
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort: an exit handler cannot wait for the killed processes to let go of files.
    }
  };
  // A test runner that exits without calling stop() must not leave a control plane behind.
  process.on('exit', killAll);
  const stop = async () => {
    process.off('exit', killAll);
    for (const c of children.reverse()) await c.stop();
    children.length = 0;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = started + (options.startTimeoutMs ?? 90_000);
    const pki = await makePki(dir);
    const [etcdClient, etcdPeer, securePort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const etcdEndpoint = `http://127.0.0.1:${etcdClient}`;
    const etcd = await spawnLogged(dir, 'etcd', join(binDir, 'etcd'), [
      '--name=palisade',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdEndpoint}`,
      `--advertise-client-urls=${etcdEndpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=palisade=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync',
      '--quota-backend-bytes=1073741824',
      '--log-level=warn',
    ]);
    children.push(etcd);
    await waitFor(etcd, deadline, () => etcdHealthy(etcdEndpoint));
    const server = `https://127.0.0.1:${securePort}`;
    const apiserverArgs = [
      `--etcd-servers=${etcdEndpoint}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${securePort}`,
      `--tls-cert-file=${pki.file('apiserver.crt')}`,
      `--tls-private-key-file=${pki.file('apiserver.key')}`,
      `--client-ca-file=${pki.file('ca.crt')}`,
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${pki.file('sa.pub')}`,
      `--service-account-signing-key-file=${pki.file('sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      // No controller manager runs, so nothing would create the default ServiceAccounts.
      '--disable-admission-plugins=ServiceAccount',
      // The kubernetes Service endpoint would be loopback, which Endpoints validation rejects.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      '--profiling=false',
      ...(options.extraArgs ?? []),
    ];
    const spawnApiServer = (logFlags: string) =>
      spawnLogged(dir, 'kube-apiserver', join(binDir, 'kube-apiserver'), apiserverArgs, logFlags);
    let apiserver = await spawnApiServer('w');
    children.push(apiserver);
    const adminCertPem = await readFile(pki.file('admin.crt'), 'utf8');
    const adminKeyPem = await readFile(pki.file('admin.key'), 'utf8');
    const tls = { ca: pki.caPem, cert: adminCertPem, key: adminKeyPem };
    await waitFor(apiserver, deadline, () => apiserverReady(server, tls));
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    await writeFile(
      kubeconfigPath,
      kubeconfig(server, pki.caPem, 'admin', adminCertPem, adminKeyPem),
    );
    return {
      server,
      kubeconfigPath,
      caPem: pki.caPem,
      adminCertPem,
      adminKeyPem,
      etcdEndpoint,
      dir,
      startupMs: Date.now() - started,
      get pids() {
        return children.map((c) => c.process.pid ?? -1);
      },
      request: (method, path, body) => adminRequest(server, tls, method, path, body),
      async restartApiServer() {
        const index = children.indexOf(apiserver);
        if (index < 0) throw new Error('restartApiServer: the control plane is stopped');
        await apiserver.stop();
        // Appending keeps the first run's lines in the log, so a failure's tail shows both.
        apiserver = await spawnApiServer('a');
        children[index] = apiserver;
        const restartDeadline = Date.now() + (options.startTimeoutMs ?? 90_000);
        try {
          await waitFor(apiserver, restartDeadline, () => apiserverReady(server, tls));
        } catch (e: unknown) {
          const message = e instanceof Error ? e.message : String(e);
          throw new Error(
            `kube-apiserver did not come back: ${message}\n${await apiserver.tail()}`,
            {
              cause: e,
            },
          );
        }
      },
      async userKubeconfig(user, groups = []) {
        const name = `user-${randomBytes(4).toString('hex')}`;
        await pki.issueClient(name, user, groups);
        const cert = await readFile(pki.file(`${name}.crt`), 'utf8');
        const key = await readFile(pki.file(`${name}.key`), 'utf8');
        const path = join(dir, `${name}.kubeconfig`);
        await writeFile(path, kubeconfig(server, pki.caPem, user, cert, key));
        return path;
      },
      stop,
    };
  } catch (e: unknown) {
    const logs = await Promise.all(children.map((c) => c.tail()));
    await stop();
    const message = e instanceof Error ? e.message : String(e);
    throw new Error([`kube-apiserver test environment failed: ${message}`, ...logs].join('\n'), {
      cause: e,
    });
  }
}

interface Child {
  readonly process: ChildProcess;
  /** The exit, once it happened; the reason a start-up wait should give up early. */
  exited(): string | undefined;
  tail(): Promise<string>;
  stop(): Promise<void>;
}

async function spawnLogged(
  dir: string,
  name: string,
  binary: string,
  args: readonly string[],
  logFlags = 'w',
): Promise<Child> {
  const logPath = join(dir, `${name}.log`);
  const log = await open(logPath, logFlags);
  // The API server calls webhooks through any proxy it finds; tests only ever talk to loopback.
  const proxies = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !proxies.has(k)));
  env['NO_PROXY'] = env['no_proxy'] = '127.0.0.1,localhost';
  const child = spawn(binary, args, { stdio: ['ignore', log.fd, log.fd], env });
  await log.close();
  let exit: string | undefined;
  const done = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exit = `${name} exited (${signal ?? `code ${code ?? '?'}`})`;
      resolve();
    });
    child.on('error', (e) => {
      exit = `${name} did not start: ${e.message}`;
      resolve();
    });
  });
  return {
    process: child,
    exited: () => exit,
    async tail() {
      const text = await readFile(logPath, 'utf8').catch(() => '');
      const lines = text.trimEnd().split('\n').slice(-LOG_TAIL_LINES);
      return `--- last lines of ${name}.log ---\n${lines.join('\n')}`;
    },
    async stop() {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), GRACE_MS);
      await done;
      clearTimeout(timer);
    },
  };
}

async function waitFor(
  child: Child,
  deadline: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  for (;;) {
    const exit = child.exited();
    if (exit !== undefined) throw new Error(exit);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for readiness');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function etcdHealthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json()) as { health?: unknown };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

function adminRequest(
  server: string,
  tls: { ca: string; cert: string; key: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = payload === undefined ? {} : { 'Content-Type': 'application/json' };
  return new Promise((resolve, reject) => {
    const req = https.request(`${server}${path}`, { ...tls, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(text === '' ? undefined : JSON.parse(text));
        else reject(new Error(`${method} ${path}: ${status} ${text}`));
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** /readyz includes the RBAC bootstrap hook, so RBAC decisions are meaningful once it says ok. */
function apiserverReady(
  server: string,
  tls: { ca: string; cert: string; key: string },
): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(`${server}/readyz`, { ...tls, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      resolve(false);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function defaultBinDir(): Promise<string> {
  const script = join(repoRoot, 'scripts', 'k8s-binaries.sh');
  const { stdout } = await run('bash', [script, '--print-dir']);
  return stdout.trim().split('\n').at(-1) ?? '';
}
