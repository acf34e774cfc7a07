import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyServer } from '../../src/policy-server/index.js';
import { createHostCapabilities } from '../../src/runtime/capabilities/index.js';
import { createModuleLoader } from '../../src/runtime/loader.js';
import { WasmRuntime } from '../../src/runtime/runtime.js';
import type { AdmissionResponse } from '../../src/shared/admission.js';
import { silentLogger } from '../../src/shared/logger.js';
import { buildTestServer, readReply } from './support/server.js';

/**
 * Hostile modules beside good policies in one real policy server: each misbehaving module
 * becomes its own rejection with code 500 and a reason, and the good policies keep answering,
 * including while a runaway guest spins in a sandbox thread.
 */
const BUILD = resolve('test/fixtures/wasm/build');
const wasm = (name: string): string => `file://${join(BUILD, name)}`;

const POLICIES = `
good:
  module: ${wasm('c-wapc.wasm')}
  settings: {denied_names: [crypto-miner]}
loop:
  module: ${wasm('hostile-loop.wasm')}
  timeoutEvalSeconds: 1
memory:
  module: ${wasm('hostile-memory.wasm')}
trap:
  module: ${wasm('hostile-trap.wasm')}
import:
  module: ${wasm('hostile-import.wasm')}
cel:
  module: builtin://cel
  settings:
    validations:
      - expression: "object.metadata.name != 'crypto-miner'"
        message: no miners
`;

let dir: string;
let runtime: WasmRuntime;
let server: PolicyServer;
let base: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'palisade-sandbox-'));
  writeFileSync(join(dir, 'policies.yml'), POLICIES);
  runtime = new WasmRuntime({
    logger: silentLogger(),
    capabilities: createHostCapabilities({ logger: silentLogger() }),
    workers: 2,
    maxMemoryBytes: 32 * 1024 * 1024,
  });
  ({ server } = await buildTestServer(join(dir, 'policies.yml'), {}, createModuleLoader(runtime)));
  base = `http://127.0.0.1:${String((await server.listen()).port)}`;
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await server.close();
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
});

function pod(name: string): object {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${name}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name,
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'alice' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default' },
        spec: { containers: [{ name: 'app', image: 'app:1' }] },
      },
    },
  };
}

async function validate(policy: string, name: string): Promise<AdmissionResponse> {
  const reply = await new Promise<{ status: number; body: string }>((done, fail) => {
    const req = http.request(
      `${base}/validate/${policy}`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        readReply(res).then(done, fail);
      },
    );
    req.on('error', fail);
    req.end(JSON.stringify(pod(name)));
  });
  expect(reply.status).toBe(200);
  return (JSON.parse(reply.body) as { response: AdmissionResponse }).response;
}

describe('hostile WebAssembly modules', () => {
  it('a runaway loop is stopped with code 500 while good policies keep serving', async () => {
    let stop = false;
    const answers: AdmissionResponse[] = [];
    // Steady load on the good policies for as long as the loop runs.
    const load = Array.from({ length: 4 }, async (_, i) => {
      let n = 0;
      while (!stop) {
        const policy = i % 2 === 0 ? 'good' : 'cel';
        answers.push(await validate(policy, n++ % 3 === 0 ? 'crypto-miner' : `web-${String(n)}`));
      }
    });
    const loop = await validate('loop', 'web');
    const again = await validate('loop', 'web');
    stop = true;
    await Promise.all(load);

    for (const r of [loop, again]) {
      expect(r.allowed).toBe(false);
      expect(r.status?.code).toBe(500);
      expect(r.status?.message).toContain('exceeded its evaluation time');
    }
    expect(answers.length).toBeGreaterThan(10);
    for (const a of answers) {
      expect(a.status?.code).not.toBe(500);
      if (!a.allowed)
        expect(['no miners', "pod name 'crypto-miner' is on the deny list"]).toContain(
          a.status?.message,
        );
    }
    expect(answers.some((a) => a.allowed)).toBe(true);
    expect(answers.some((a) => !a.allowed)).toBe(true);
  });

  it('a module growing its memory past the cap fails cleanly, and the next request too', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await validate('memory', 'web');
      expect(r.allowed).toBe(false);
      expect(r.status?.code).toBe(500);
      expect(r.status?.message).toContain('memory limit');
    }
    expect((await validate('good', 'web')).allowed).toBe(true);
  });

  it('a trapping module answers 500 with the trap', async () => {
    const r = await validate('trap', 'web');
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(500);
    expect(r.status?.message).toContain('trapped');
    expect(r.status?.message).toContain('unreachable');
  });

  it('a module importing what no host provides is a load error naming the import', async () => {
    const r = await validate('import', 'web');
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(500);
    expect(r.status?.message).toContain('env.launch_missiles');
    expect(r.status?.message).toContain('failed to load');
  });
});
