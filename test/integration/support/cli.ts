import { execFile } from 'node:child_process';
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
