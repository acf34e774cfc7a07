import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startKubeApiServer } from './kube.js';

const empty = mkdtempSync(join(tmpdir(), 'palisade-no-binaries-'));

afterAll(() => {
  rmSync(empty, { recursive: true, force: true });
});

describe('startKubeApiServer', () => {
  it('fails loudly, naming the build script, when the binaries are missing', async () => {
    await expect(startKubeApiServer({ binDir: empty })).rejects.toThrow(
      `kube-apiserver not found in ${empty}: run \`bash scripts/k8s-binaries.sh\` first`,
    );
  });

  it('finds the built binaries by default', async () => {
    const { execFileSync } = await import('node:child_process');
    const dir = execFileSync('bash', ['scripts/k8s-binaries.sh', '--print-dir']).toString().trim();
    expect(existsSync(join(dir, 'kube-apiserver'))).toBe(true);
    expect(existsSync(join(dir, 'etcd'))).toBe(true);
  });

  it('throws the log tail when kube-apiserver does not come up, and cleans up', async () => {
    // A private TMPDIR, so the check does not see control planes of test files running alongside.
    const scratch = mkdtempSync(join(tmpdir(), 'palisade-scratch-'));
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = scratch;
    try {
      const failure = await startKubeApiServer({ extraArgs: ['--no-such-flag'] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(Error);
      const message = (failure as Error).message;
      expect(message).toContain('kube-apiserver exited (code 1)');
      expect(message).toContain('--- last lines of kube-apiserver.log ---');
      expect(message).toContain('unknown flag: --no-such-flag');
      expect(readdirSync(scratch)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 60_000);
});
