// `npm run bench:oci` (after `npm run build`): pull of a 1 MiB policy module from a local
// registry (Debian's docker-registry on 127.0.0.1, anonymous HTTP), cold (empty store) against
// cached (module pinned by digest, already in the store), measured in one run; prints both
// medians and the ratio. The cached loads run with the registry stopped, so they cannot touch
// the network. Options: --runs N (default 30).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RegistryClient } from '../../dist/oci/client.js';
import { ModuleFetcher } from '../../dist/oci/fetcher.js';
import { pushModule } from '../../dist/oci/push.js';
import { parseImageReference, parseModuleSource } from '../../dist/oci/reference.js';
import { ModuleStore } from '../../dist/oci/store.js';
import { silentLogger } from '../../dist/shared/logger.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '30' } } });
const RUNS = Number(args.runs);

execFileSync('bash', [join(ROOT, 'scripts', 'fixtures.sh'), 'c'], { stdio: 'inherit' });
execFileSync('bash', [join(ROOT, 'scripts', 'apt-ensure.sh'), 'docker-registry'], {
  stdio: 'inherit',
});

/** The C fixture plus a 1 MiB custom section: a valid, annotated module of about 1 MiB. */
function oneMebibyteModule() {
  const base = readFileSync(join(ROOT, 'test', 'fixtures', 'wasm', 'build', 'c-wapc.wasm'));
  const name = Buffer.from('palisade.bench.padding');
  const padding = Buffer.alloc(1024 * 1024 - base.length - 16, 0x5a);
  const content = Buffer.concat([Buffer.from([name.length]), name, padding]);
  const size = [];
  for (let n = content.length; ;) {
    const byte = n & 0x7f;
    n >>>= 7;
    if (n === 0) {
      size.push(byte);
      break;
    }
    size.push(byte | 0x80);
  }
  return new Uint8Array(Buffer.concat([base, Buffer.from([0, ...size]), content]));
}

function freePort() {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function startRegistry(dir) {
  const port = await freePort();
  const config = join(dir, 'registry.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\nstorage:\n  filesystem: {rootdirectory: ${join(dir, 'data')}}\nhttp: {addr: 127.0.0.1:${port}, secret: bench}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const exited = new Promise((r) => child.once('exit', r));
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function median(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-oci-'));
const registry = await startRegistry(dir);
try {
  const module = oneMebibyteModule();
  const client = () => new RegistryClient({ now: Date.now, retries: 0 });
  const ref = parseImageReference(`${registry.host}/bench/policy:v1`);
  const { digest } = await pushModule(client(), module, ref, { where: 'bench module' });
  const pinned = parseModuleSource(`registry://${registry.host}/bench/policy@${digest}`);
  const fetcher = (store) => new ModuleFetcher({ client: client(), store, logger: silentLogger() });

  const cold = [];
  for (let i = 0; i < RUNS; i++) {
    const store = new ModuleStore(join(dir, `cold-${i}`));
    const start = process.hrtime.bigint();
    const fetched = await fetcher(store).fetch(pinned);
    cold.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (fetched.cached || fetched.bytes.length !== module.length) throw new Error('bad cold pull');
  }

  const warm = new ModuleStore(join(dir, 'cold-0'));
  await registry.stop();
  const cached = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    const fetched = await fetcher(warm).fetch(pinned);
    cached.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (!fetched.cached) throw new Error('the cached load went to the network');
  }

  const c = median(cold);
  const w = median(cached);
  console.log(`module: ${(module.length / 1024 / 1024).toFixed(2)} MiB, ${RUNS} runs each`);
  console.log(`cold pull (empty store, local registry): median ${c.toFixed(2)} ms`);
  console.log(`cached load (pinned digest, registry stopped): median ${w.toFixed(2)} ms`);
  console.log(`ratio cold / cached: ${(c / w).toFixed(1)}x`);
} finally {
  await registry.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
