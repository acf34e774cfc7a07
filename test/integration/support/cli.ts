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
