import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  PolicyServer,
  PolicyServerConfigInput,
  PolicyServerMetrics,
} from '../../src/policy-server/index.js';
import { buildTestServer, readReply, type Reply } from './support/server.js';

const POLICIES = `
replicas:
  module: builtin://cel
  settings:
    variables:
      - {name: replicas, expression: object.spec.replicas}
      - {name: maxreplicas, expression: int(5)}
    validations:
      - expression: variables.replicas <= variables.maxreplicas
        messageExpression: "'the number of replicas must be less than or equal to ' + string(variables.maxreplicas)"
`;

const TOO_MANY = 'the number of replicas must be less than or equal to 5';

let dir: string;
let base: string;
let server: PolicyServer;

function deploymentReview(replicas: number, uid = `uid-${replicas}`): object {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'web',
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'alice' },
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: { replicas },
      },
    },
  };
}

/** Raw node:http client: fetch would hide the transport details these tests check. */
function send(
  url: string,
  init: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {},
  agent?: http.Agent,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, agent });
    req.on('response', (res) => {
      readReply(res).then(resolve, reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

function post(path: string, body: unknown, contentType = 'application/json'): Promise<Reply> {
  return send(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function startServer(input: PolicyServerConfigInput): Promise<{
  server: PolicyServer;
  url: string;
  metrics: PolicyServerMetrics;
}> {
  const { server: s, metrics } = await buildTestServer(join(dir, 'policies.yml'), input);
  const { port, protocol } = await s.listen();
  return { server: s, url: `${protocol}://127.0.0.1:${port}`, metrics };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'palisade-server-'));
  writeFileSync(join(dir, 'policies.yml'), POLICIES);
  const started = await startServer({});
  server = started.server;
  base = started.url;
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('admission routes', () => {
  it('rejects a 6-replica Deployment on /validate with the policy message', async () => {
    const reply = await post('/validate/replicas', deploymentReview(6));
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    const review = JSON.parse(reply.body) as Record<string, unknown>;
    expect(review).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'uid-6', allowed: false, status: { message: TOO_MANY } },
    });
  });

  it('accepts a 3-replica Deployment', async () => {
    const reply = await post('/validate/replicas', deploymentReview(3));
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'uid-3', allowed: true },
    });
  });

  it('answers /audit with the raw verdict, and ignores a query string', async () => {
    const reply = await post('/audit/replicas?timeout=10s', deploymentReview(7, 'audit-7'));
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({
      kind: 'AdmissionReview',
      response: { uid: 'audit-7', allowed: false, status: { message: TOO_MANY } },
    });
  });

  it('answers /validate_raw with {"response": ...}', async () => {
    const reply = await post('/validate_raw/replicas', {
      request: { uid: 'raw-1', object: { spec: { replicas: 9 } } },
    });
    expect(reply.status).toBe(200);
    const body = JSON.parse(reply.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['response']);
    expect(body).toMatchObject({
      response: { uid: 'raw-1', allowed: false, status: { message: TOO_MANY } },
    });
  });

  it('accepts application/json; charset=utf-8', async () => {
    const reply = await post(
      '/validate/replicas',
      deploymentReview(1),
      'application/json; charset=UTF-8',
    );
    expect(reply.status).toBe(200);
  });
});

describe('bad input', () => {
  const cases: readonly (readonly [string, () => Promise<Reply>, number, RegExp])[] = [
    ['malformed JSON', () => post('/validate/replicas', '{"request": '), 400, /not valid JSON/],
    [
      'wrong content type',
      () => post('/validate/replicas', deploymentReview(1), 'text/plain'),
      415,
      /content-type must be application\/json, got text\/plain/,
    ],
    [
      'another charset',
      () => post('/validate/replicas', deploymentReview(1), 'application/json; charset=latin1'),
      415,
      /content-type/,
    ],
    [
      'missing request',
      () => post('/validate/replicas', { kind: 'AdmissionReview' }),
      400,
      /no "request"/,
    ],
    [
      'request not an object',
      () => post('/audit/replicas', { request: 3 }),
      400,
      /"request" must be an object/,
    ],
    [
      'missing uid',
      () => post('/validate/replicas', { request: { ...deploymentReview(1), uid: undefined } }),
      400,
      /request\.uid/,
    ],
    [
      'missing kind',
      () => post('/validate/replicas', { request: { uid: 'x', operation: 'CREATE' } }),
      400,
      /request\.kind/,
    ],
    [
      'raw without request',
      () => post('/validate_raw/replicas', { object: {} }),
      400,
      /"request" field/,
    ],
    [
      'unknown policy',
      () => post('/validate/nope', deploymentReview(1)),
      404,
      /policy "nope" is not known/,
    ],
    [
      'bad percent-encoding',
      () => post('/validate/%E0%A4%A', deploymentReview(1)),
      400,
      /percent-encoding/,
    ],
    ['unknown path', () => send(`${base}/nope`), 404, /no route for GET \/nope/],
    ['GET on an admission route', () => send(`${base}/validate/replicas`), 405, /use POST/],
    ['POST on readiness', () => post('/readiness', {}), 405, /use GET, HEAD/],
  ];

  it.each(cases)('%s', async (_name, call, status, message) => {
    const reply = await call();
    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(reply.body) as { message: string; status: number };
    expect(body.status).toBe(status);
    expect(body.message).toMatch(message);
  });

  it('names the allowed method on a 405', async () => {
    const reply = await send(`${base}/audit/replicas`, { method: 'PUT' });
    expect(reply.headers.allow).toBe('POST');
  });

  it('refuses bodies over the limit, declared or chunked, and keeps serving', async () => {
    const small = await startServer({ bodyLimitBytes: 2048 });
    try {
      const big = JSON.stringify({ ...deploymentReview(1), pad: 'x'.repeat(4096) });
      const declared = await send(`${small.url}/validate/replicas`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: big,
      });
      expect(declared.status).toBe(413);
      expect(declared.headers.connection).toBe('close');
      expect(JSON.parse(declared.body)).toEqual({
        message: 'request body exceeds the limit of 2048 bytes',
        status: 413,
      });
      const chunked = await send(`${small.url}/validate/replicas`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        body: big,
      });
      expect(chunked.status).toBe(413);
      const ok = await send(`${small.url}/validate/replicas`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(deploymentReview(2)),
      });
      expect(ok.status).toBe(200);
    } finally {
      await small.server.close();
    }
  });
});

describe('readiness and metrics', () => {
  it('is ready while serving', async () => {
    const reply = await send(`${base}/readiness`);
    expect(reply.status).toBe(200);
  });

  it('exposes the evaluation counter and histogram with Kubewarden labels', async () => {
    await post('/validate/replicas', deploymentReview(6, 'm-6'));
    const reply = await send(`${base}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = reply.body;
    expect(text).toContain('# TYPE palisade_policy_evaluations_total counter');
    expect(text).toMatch(
      /^palisade_policy_evaluations_total\{policy_name="replicas",policy_mode="protect",resource_kind="Deployment",resource_namespace="default",resource_request_operation="CREATE",accepted="false",mutated="false",request_origin="validate",error_code="\d+"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^palisade_policy_evaluations_total\{policy_name="replicas",.*accepted="true",mutated="false",request_origin="validate",error_code=""\} [1-9]\d*$/m,
    );
    expect(text).toMatch(/request_origin="audit"/);
    expect(text).toMatch(/request_origin="validate_raw"/);
    expect(text).toContain('# TYPE palisade_policy_evaluation_latency_milliseconds histogram');
    expect(text).toMatch(
      /^palisade_policy_evaluation_latency_milliseconds_bucket\{policy_name="replicas",.*,le="\+Inf"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^palisade_policy_evaluation_latency_milliseconds_count\{policy_name="replicas",/m,
    );
    // Our own registry: none of prom-client's default process metrics.
    expect(text).not.toContain('process_cpu');
  });
});

describe('TLS', () => {
  it('serves HTTPS with a generated certificate', async () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const tls = await startServer({ tls: { certFile: cert, keyFile: key } });
    try {
      expect(tls.url).toMatch(/^https:/);
      const reply = await new Promise<Reply>((resolve, reject) => {
        const req = https.request(`${tls.url}/validate/replicas`, {
          method: 'POST',
          ca: readFileSync(cert),
          headers: { 'content-type': 'application/json' },
        });
        req.on('response', (res) => {
          readReply(res).then(resolve, reject);
        });
        req.on('error', reject);
        req.end(JSON.stringify(deploymentReview(6, 'tls-6')));
      });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toMatchObject({
        response: { uid: 'tls-6', allowed: false, status: { message: TOO_MANY } },
      });
      // Without the CA the client refuses the self-signed certificate.
      await expect(
        new Promise((resolve, reject) => {
          https.get(`${tls.url}/readiness`, resolve).on('error', reject);
        }),
      ).rejects.toThrow(/self-signed|self signed/);
    } finally {
      await tls.server.close();
    }
  });

  it('refuses to start with an unreadable certificate', async () => {
    await expect(
      startServer({
        tls: { certFile: join(dir, 'missing.pem'), keyFile: join(dir, 'missing.pem') },
      }),
    ).rejects.toThrow(/cannot read TLS certificate/);
  });
});
