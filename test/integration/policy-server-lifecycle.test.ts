import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  installShutdownHandlers,
  type PolicyServer,
  type PolicyServerConfigInput,
} from '../../src/policy-server/index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { buildTestServer } from './support/server.js';

const POLICIES = `
replicas:
  module: builtin://cel
  settings:
    validations:
      - expression: object.spec.replicas <= 5
        message: too many replicas
`;

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'palisade-lifecycle-'));
  writeFileSync(join(dir, 'policies.yml'), POLICIES);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function create(input: PolicyServerConfigInput = {}): Promise<PolicyServer> {
  return (await buildTestServer(join(dir, 'policies.yml'), input)).server;
}

async function start(
  input: PolicyServerConfigInput = {},
): Promise<{ server: PolicyServer; port: number }> {
  const server = await create(input);
  const { port } = await server.listen();
  return { server, port };
}

const REVIEW = JSON.stringify({
  request: {
    uid: 'in-flight',
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    operation: 'CREATE',
    userInfo: {},
    object: { spec: { replicas: 2 } },
  },
});

/** A raw connection, so a test can stop half-way through a request. */
function open(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    const closed = new Promise<void>((r) =>
      socket.once('close', () => {
        r();
      }),
    );
    socket.once('connect', () => {
      resolve({ socket, received: () => data, closed });
    });
    socket.once('error', reject);
  });
}

function postHead(length: number): string {
  return `POST /validate/replicas HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
}

function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (predicate()) resolve();
      else if (Date.now() > until) reject(new Error('condition not met in time'));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

function get(
  port: number,
  path: string,
  agent?: http.Agent,
): Promise<{ status: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        const socket = res.socket;
        res.resume();
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, socket });
        });
      })
      .on('error', reject);
  });
}

describe('graceful close', () => {
  it('finishes an in-flight request, closes idle keep-alive connections, refuses new ones', async () => {
    const { server, port } = await start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const idle = await get(port, '/readiness', agent);
    expect(idle.status).toBe(200);
    const idleClosed = new Promise<void>((r) =>
      idle.socket.once('close', () => {
        r();
      }),
    );

    const inFlight = await open(port);
    const half = Math.floor(REVIEW.length / 2);
    inFlight.socket.write(postHead(Buffer.byteLength(REVIEW)) + REVIEW.slice(0, half));
    await new Promise((r) => setTimeout(r, 50));

    const closing = server.close();
    expect(server.state).toBe('draining');
    await idleClosed;
    await expect(get(port, '/readiness')).rejects.toThrow(/ECONNREFUSED/);

    inFlight.socket.write(REVIEW.slice(half));
    await inFlight.closed;
    expect(inFlight.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(inFlight.received()).toMatch(/\r\nConnection: close\r\n/i);
    expect(inFlight.received()).toContain('"uid":"in-flight","allowed":true');
    await closing;
    expect(server.state).toBe('closed');
    agent.destroy();
  });

  it('answers readiness 503 on a connection still open while draining', async () => {
    const { server, port } = await start();
    const conn = await open(port);
    conn.socket.write('GET /readiness HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const closing = server.close();
    conn.socket.write('\r\n');
    await conn.closed;
    expect(conn.received()).toMatch(/^HTTP\/1\.1 503 /);
    expect(conn.received()).toContain('"status":503');
    await closing;
  });

  it('destroys connections still open after the shutdown timeout', async () => {
    const { server, port } = await start({ shutdownTimeoutMs: 200 });
    const stuck = await open(port);
    stuck.socket.write(postHead(Buffer.byteLength(REVIEW)) + REVIEW.slice(0, 10));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2000);
    await stuck.closed;
    expect(server.state).toBe('closed');
  });

  it('close() twice, or before listen(), is harmless', async () => {
    const { server } = await start();
    await Promise.all([server.close(), server.close()]);
    await server.close();
    expect(server.state).toBe('closed');
    const unused = await create();
    await unused.close();
    expect(unused.state).toBe('closed');
    await expect(unused.listen()).rejects.toThrow(/cannot listen when closed/);
  });
});

describe('installShutdownHandlers', () => {
  it('drains on SIGTERM, forces on a second signal, sets exitCode and unregisters', async () => {
    const { server, port } = await start({ shutdownTimeoutMs: 60_000 });
    const proc = Object.assign(new EventEmitter(), {
      exitCode: undefined as number | string | undefined,
    });
    let closedWith: unknown = 'not called';
    const uninstall = installShutdownHandlers(server, silentLogger(), proc, {
      onClosed: (e) => (closedWith = e),
    });
    const stuck = await open(port);
    stuck.socket.write(postHead(Buffer.byteLength(REVIEW)));
    await new Promise((r) => setTimeout(r, 50));

    proc.emit('SIGTERM', 'SIGTERM');
    expect(server.state).toBe('draining');
    proc.emit('SIGINT', 'SIGINT');
    await stuck.closed;
    await waitFor(() => closedWith !== 'not called');
    expect(closedWith).toBeUndefined();
    expect(server.state).toBe('closed');
    expect(proc.exitCode).toBe(0);

    uninstall();
    expect(proc.listenerCount('SIGTERM')).toBe(0);
    expect(proc.listenerCount('SIGINT')).toBe(0);
  });
});
