import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { httpRequest, type HttpRequestOptions } from './registry-http.js';
import type { ServerPki } from './registry-pki.js';
import { TOKEN_ISSUER, TOKEN_SERVICE, type TokenServer } from './registry-token.js';

/** The query marker of `settledCount()` pings, which `requests()` leaves out. */
const SENTINEL = 'palisade-settle';
/** One combined-log-format line, as gorilla's handler behind distribution's access log writes. */
const ACCESS_LINE = /^\S+ \S+ \S+ \[[^\]]+\] "[A-Z]+ (\S+) [^"]*" \d{3} /;

export interface ConfigInput {
  readonly port: number;
  readonly dataDir: string;
  readonly pki: ServerPki | undefined;
  readonly htpasswdFile: string | undefined;
  readonly issuer: TokenServer | undefined;
  readonly rootCertFile: string | undefined;
}

/** JSON is YAML, and it spares quoting temp paths by hand. */
export function registryConfig(input: ConfigInput): string {
  const auth =
    input.htpasswdFile !== undefined
      ? { htpasswd: { realm: 'palisade-test-registry', path: input.htpasswdFile } }
      : input.issuer !== undefined
        ? {
            token: {
              realm: input.issuer.realm,
              service: TOKEN_SERVICE,
              issuer: TOKEN_ISSUER,
              rootcertbundle: input.rootCertFile,
            },
          }
        : undefined;
  const tls =
    input.pki === undefined
      ? undefined
      : { certificate: input.pki.certFile, key: input.pki.keyFile };
  return JSON.stringify({
    version: '0.1',
    log: { level: 'warn', accesslog: { disabled: false } },
    storage: { filesystem: { rootdirectory: input.dataDir }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${input.port}`, secret: 'palisade-test-not-secret', tls },
    auth,
  });
}

export interface RegistryProcess {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly stop: () => Promise<void>;
}

/**
 * The access log goes to a file, not a pipe: distribution writes each line before it flushes a
 * small response, so a synchronous read after the response sees the line, whereas pipe data
 * reaches Node's event loop after the response about half the time. Appending keeps the count
 * across restarts; stderr (the app log) is kept as a tail for error messages.
 */
export function spawnRegistry(configFile: string, accessLog: string): RegistryProcess {
  const out = openSync(accessLog, 'a');
  const child = spawn('docker-registry', ['serve', configFile], {
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  return { child, stderr: () => stderr, stop };
}

export async function waitReady(
  url: string,
  ca: string | undefined,
  proc: RegistryProcess,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  const options: HttpRequestOptions = ca === undefined ? {} : { ca };
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`docker-registry exited: ${proc.stderr()}`);
    try {
      const res = await httpRequest(`${url}/v2/`, options);
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not become ready: ${proc.stderr()}`);
}

export interface AccessLog {
  /** Requests logged so far, `settledCount()` pings left out; reads the file synchronously. */
  readonly count: () => number;
  /** Whether the sentinel request with this id has been logged. */
  readonly sawSentinel: (id: string) => boolean;
  /** After this, `count()` keeps answering the last count (the file is about to go). */
  readonly close: () => void;
}

/** Reads only what was appended since the last call, so counting stays cheap as the log grows. */
export function accessLog(file: string): AccessLog {
  writeFileSync(file, '');
  let fd: number | undefined = openSync(file, 'r');
  let offset = 0;
  let partial = '';
  let served = 0;
  const sentinels = new Set<string>();
  const chunk = Buffer.alloc(64 * 1024);
  const take = (line: string): void => {
    const uri = ACCESS_LINE.exec(line)?.[1];
    if (uri === undefined) return;
    const id = new URL(uri, 'http://x').searchParams.get(SENTINEL);
    if (id === null) served++;
    else sentinels.add(id);
  };
  const catchUp = (): void => {
    if (fd === undefined) return;
    let n: number;
    while ((n = readSync(fd, chunk, 0, chunk.length, offset)) > 0) {
      offset += n;
      const lines = (partial + chunk.toString('latin1', 0, n)).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(take);
    }
  };
  return {
    count: () => {
      catchUp();
      return served;
    },
    sawSentinel: (id) => {
      catchUp();
      return sentinels.has(id);
    },
    close: () => {
      catchUp();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** How long the log must stay unchanged before `settledCount()` trusts it. */
const QUIET_MS = 25;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * After a large body, distribution finishes the handler (closes the file, feeds its notification
 * bridge) before it logs, and on a busy machine that line trailed the client's last byte, and
 * even a fresh ping's line, by several milliseconds. So: a marked ping, to know the registry
 * has got that far, then a quiet spell with no new lines. Margin, not proof, but the measured
 * lag was under 4 ms.
 */
export async function settledCount(
  log: AccessLog,
  url: string,
  options: HttpRequestOptions,
): Promise<number> {
  const id = randomBytes(6).toString('hex');
  await httpRequest(`${url}/v2/?${SENTINEL}=${id}`, options);
  const deadline = Date.now() + 5000;
  while (!log.sawSentinel(id)) {
    if (Date.now() > deadline) throw new Error('the access log never showed the settle ping');
    await sleep(2);
  }
  let count = log.count();
  for (let quietSince = Date.now(); Date.now() - quietSince < QUIET_MS;) {
    if (Date.now() > deadline) throw new Error('the registry never stopped serving requests');
    await sleep(5);
    if (log.count() !== count) {
      count = log.count();
      quietSince = Date.now();
    }
  }
  return count;
}
