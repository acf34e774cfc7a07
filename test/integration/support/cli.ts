import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The built CLI (`npm test` builds dist/ before vitest runs). */
export const CLI = join(import.meta.dirname, '../../../dist/bin/palisade.js');

/** Runs `palisade ...args` as a user would: a real process; never throws on a non-zero exit. */
export async function palisade(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/**
 * `palisade serve ...args` on a free port: the URL it logs once ready, and a `stop` that sends
 * SIGTERM and resolves with the exit code.
 */
export async function startServe(
  ...args: string[]
): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', ...args, '--port', '0', '--log-fmt', 'json'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      resolve(code);
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    let log = '';
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(log);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then(() => {
      reject(new Error(`server exited: ${log}`));
    });
  });
  return {
    url,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * `palisade dev ...args` with `KUBECONFIG` set: the URL it logs once its controller and policy
 * server are up, its log so far, and a `stop` that sends SIGTERM and resolves with the exit code.
 */
export async function startDev(
  kubeconfig: string,
  ...args: string[]
): Promise<{ url: string; log: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, 'dev', ...args, '--log-fmt', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUBECONFIG: kubeconfig },
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      resolve(code);
    }),
  );
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /"url":"(https:\/\/[^"]+)"[^\n]*controller and policy server ready/.exec(log);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then(() => {
      reject(new Error(`palisade dev exited: ${log}`));
    });
  });
  return {
    url,
    log: () => log,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A `palisade serve` process started by {@link spawnServe}. */
export interface ServeProcess {
  readonly pid: number;
  /** Resolves to the URL once the server logs it is ready; rejects if the process exits first. */
  readonly url: Promise<string>;
  /** Everything logged so far (JSON lines on stderr). */
  log(): string;
  /** Resolves with the exit code, once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `palisade serve ...args` on a free port with extra environment (`KUBECONFIG`), without
 * waiting for it to be ready: a server that waits for its ConfigMap logs before it listens.
 */
export function spawnServe(options: {
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}): ServeProcess {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', ...options.args, '--port', '0', '--log-fmt', 'json'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      resolve(code);
    }),
  );
  let log = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /"url":"(https?:\/\/[^"]+)"[^\n]*"policy server ready"/.exec(log);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then(() => {
      reject(new Error(`server exited: ${log}`));
    });
  });
  url.catch(() => undefined);
  return {
    pid: child.pid ?? -1,
    url,
    log: () => log,
    exited,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A `palisade operator` process started by {@link startOperator}. */
export interface OperatorProcess {
  readonly pid: number;
  /** Everything logged so far (JSON lines on stderr). */
  log(): string;
  /** Resolves with the exit code (null when killed by a signal), once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and resolves once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `palisade operator ...args` with `KUBECONFIG` set (and `POD_NAME`, so two processes are told
 * apart in the Lease), resolved once it logs that it runs: informers synced, campaigning or
 * reconciling. Rejects with the log when the process exits first.
 */
export async function startOperator(
  kubeconfig: string,
  podName: string,
  ...args: string[]
): Promise<OperatorProcess> {
  const child = spawn(process.execPath, [CLI, 'operator', ...args, '--log-fmt', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUBECONFIG: kubeconfig, POD_NAME: podName },
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      resolve(code);
    }),
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('"palisade operator: running"')) resolve();
    });
    void exited.then(() => {
      reject(new Error(`palisade operator exited: ${log}`));
    });
  });
  return {
    pid: child.pid ?? -1,
    log: () => log,
    exited,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}
