import { readFileSync, readdirSync, existsSync } from 'node:fs';
import * as http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCase, TestSuite } from '../../src/api/test-suite.js';
import { selectPolicy } from '../../src/cli/select.js';
import { applyPatch, decodePatch, readPolicySources } from '../../src/engine/index.js';
import type { PolicyServer } from '../../src/policy-server/index.js';
import { createHostCapabilities } from '../../src/runtime/capabilities/index.js';
import { createModuleLoader } from '../../src/runtime/loader.js';
import { WasmRuntime } from '../../src/runtime/runtime.js';
import type { AdmissionResponse, JsonValue } from '../../src/shared/admission.js';
import { silentLogger } from '../../src/shared/logger.js';
import { buildTestServer, readReply, type Reply } from './support/server.js';

/**
 * Every WebAssembly fixture suite replayed through a real policy server over HTTP: the same
 * answers `palisade test` checks, this time from `POST /validate/{id}` with the modules in the
 * sandbox worker pool. Cases that override settings need a policy of their own and are left
 * to `palisade test`.
 */
const FIXTURES = resolve('test/fixtures/wasm');
const suites = readdirSync(FIXTURES)
  .map((d) => join(FIXTURES, d, 'suite.yaml'))
  .filter((f) => existsSync(f));

let runtime: WasmRuntime;
let server: PolicyServer;
let base: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

beforeAll(async () => {
  const missing = readdirSync(FIXTURES).length > 0 && !existsSync(join(FIXTURES, 'build'));
  if (missing) throw new Error('fixtures are not built: run `npm run fixtures` first');
  runtime = new WasmRuntime({
    logger: silentLogger(),
    capabilities: createHostCapabilities({ logger: silentLogger() }),
    workers: 2,
  });
  ({ server } = await buildTestServer(FIXTURES, {}, createModuleLoader(runtime)));
  const address = await server.listen();
  base = `http://127.0.0.1:${String(address.port)}`;
}, 120_000);

afterAll(async () => {
  agent.destroy();
  await server.close();
  await runtime.close();
});

function post(path: string, body: unknown): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = http.request(
      `${base}${path}`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        readReply(res).then(done, fail);
      },
    );
    req.on('error', fail);
    req.end(JSON.stringify(body));
  });
}

function review(request: JsonValue): JsonValue {
  const r = request as { request?: JsonValue };
  return r.request !== undefined
    ? request
    : { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

describe.each(suites)('%s over POST /validate', (suiteFile) => {
  const suite = parse(readFileSync(suiteFile, 'utf8')) as TestSuite;
  const cases = suite.cases.filter((c) => c.settings === undefined);

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c: TestCase) => {
    const folder = dirname(suiteFile);
    const defs = (
      await Promise.all(
        suite.policies.map((p) =>
          typeof p === 'string' ? readPolicySources(resolve(folder, p)) : Promise.resolve([]),
        ),
      )
    ).flat();
    const def = selectPolicy(defs, c.policy, suiteFile);
    const request =
      typeof c.request === 'string'
        ? (JSON.parse(readFileSync(resolve(folder, c.request), 'utf8')) as JsonValue)
        : (c.request as JsonValue);
    const reply = await post(`/validate/${def.id}`, review(request));
    expect(reply.status).toBe(200);
    const response = (JSON.parse(reply.body) as { response: AdmissionResponse }).response;
    expect(response.allowed).toBe(c.expect.allowed);
    if (c.expect.message !== undefined) expect(response.status?.message).toBe(c.expect.message);
    if (c.expect.code !== undefined) expect(response.status?.code).toBe(c.expect.code);
    if (c.expect.warnings !== undefined) expect(response.warnings).toEqual(c.expect.warnings);
    if (c.expect.patchedObject !== undefined) {
      const object = ((request as { request?: { object?: JsonValue } }).request ?? request) as {
        object?: JsonValue;
      };
      expect(response.patch).toBeDefined();
      const patched = applyPatch(object.object, decodePatch(response.patch ?? ''));
      expect(isDeepStrictEqual(patched, c.expect.patchedObject)).toBe(true);
    }
  });
});
