import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { EvaluationEnvironment } from '../engine/types.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { createAdmissionHandler, parseAdmissionRoute } from './admission.js';
import { createApp } from './app.js';
import type { PolicyServerConfig, TlsFiles } from './config.js';
import { HttpError, errorBody, sendJson } from './http-io.js';
import type { PolicyServerMetrics } from './metrics.js';
import type { PolicyStatusProvider } from './policies-status.js';

/** How long a drained server waits for a half-received request before closing what is left. */
const DRAIN_GRACE_MS = 500;

export interface PolicyServerOptions {
  readonly environment: EvaluationEnvironment;
  readonly logger: Logger;
  readonly metrics: PolicyServerMetrics;
  /** From `createPolicyServerConfig`. */
  readonly config: Readonly<PolicyServerConfig>;
  /** Load states and policy source for `GET /policies`; absent: that route answers 404. */
  readonly status?: PolicyStatusProvider;
}

/** `created` → `serving` → `draining` → `closed`; readiness answers 200 only while `serving`. */
export type PolicyServerState = 'created' | 'serving' | 'draining' | 'closed';

export interface ListeningAddress {
  readonly address: string;
  readonly port: number;
  readonly protocol: 'http' | 'https';
}

export interface CloseOptions {
  /** Overrides `config.shutdownTimeoutMs`; 0 destroys open connections now (a second SIGTERM). */
  readonly timeoutMs?: number;
}

export interface PolicyServer {
  /** Binds the socket; with TLS, reads the certificate and key first. */
  listen(): Promise<ListeningAddress>;
  /**
   * Graceful stop: readiness turns 503, no new connections are accepted, idle keep-alive
   * connections are closed, in-flight requests finish (their responses carry
   * `Connection: close`), and after the timeout whatever is left is destroyed.
   * Idempotent; a second call may only shorten the wait.
   */
  close(options?: CloseOptions): Promise<void>;
  readonly state: PolicyServerState;
}

/**
 * The policy server: Kubewarden's HTTP API over an `EvaluationEnvironment`. The engine never
 * sees HTTP objects; this layer only maps transport faults to 4xx and JSON in and out.
 *
 * One `node:http(s)` request listener dispatches POSTs on the admission routes to a
 * hand-written fast path and everything else to an express app. Why not express for all:
 * express 5 + `express.json()` costs ~140 µs of CPU per request on this path (perf.md §2),
 * a 3× loss of admission throughput for no feature the admission routes need.
 */
export function createPolicyServer(options: PolicyServerOptions): PolicyServer {
  const { environment, logger, metrics, config } = options;
  let state: PolicyServerState = 'created';
  let server: http.Server | https.Server | undefined;
  let closing: Promise<void> | undefined;
  let forceClose: (() => void) | undefined;
  const sockets = new Set<Socket>();
  const draining = (): boolean => state !== 'serving';
  /** Read through a call: a check after an `await` must see what `close()` did meanwhile. */
  const currentState = (): PolicyServerState => state;
  /** Requests being answered; once draining and none is left, the remaining sockets can go. */
  let inFlight = 0;
  let onDrained: (() => void) | undefined;

  const admission = createAdmissionHandler({
    environment,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    draining,
  });
  const app = createApp({
    registry: metrics.registry,
    logger,
    draining,
    ...(options.status ? { status: options.status } : {}),
  });

  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) onDrained?.();
    });
    let route;
    try {
      route = req.method === 'POST' && req.url ? parseAdmissionRoute(req.url) : undefined;
    } catch (e: unknown) {
      const status = e instanceof HttpError ? e.status : 400;
      logger.warn({ path: req.url, status }, `request refused: ${errorMessage(e)}`);
      sendJson(res, status, errorBody(status, errorMessage(e)), draining());
      return;
    }
    if (route) {
      void admission(req, res, route);
      return;
    }
    if (draining()) res.setHeader('connection', 'close');
    app(req, res);
  };

  return {
    get state() {
      return state;
    },

    async listen(): Promise<ListeningAddress> {
      if (state !== 'created') {
        throw new PalisadeError('internal_error', `policy server cannot listen when ${state}`);
      }
      const tls = config.tls ? await readTls(config.tls) : undefined;
      // close() may have run while the certificate was read: a closed server never binds.
      if (currentState() !== 'created') {
        throw new PalisadeError('internal_error', 'policy server closed while starting');
      }
      const serverOptions: http.ServerOptions = {
        keepAliveTimeout: config.keepAliveTimeoutMs,
        requestTimeout: config.requestTimeoutMs,
        headersTimeout: Math.min(config.requestTimeoutMs, 60_000),
      };
      const created = createNodeServer(serverOptions, tls, listener);
      created.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      server = created;
      await bind(created, config.port, config.addr);
      state = 'serving';
      const info = created.address() as AddressInfo;
      const address = {
        address: info.address,
        port: info.port,
        protocol: tls ? 'https' : 'http',
      } as const;
      logger.info(
        { ...address, policies: environment.policyIds().length },
        'policy server listening',
      );
      return address;
    },

    close(closeOptions: CloseOptions = {}): Promise<void> {
      const timeoutMs = closeOptions.timeoutMs ?? config.shutdownTimeoutMs;
      if (closing) {
        if (timeoutMs === 0) forceClose?.();
        return closing;
      }
      if (!server) {
        state = 'closed';
        closing = Promise.resolve();
        return closing;
      }
      state = 'draining';
      logger.info({ timeoutMs }, 'policy server draining');
      const s = server;
      closing = new Promise<void>((resolve) => {
        const timer = setTimeout(() => forceClose?.(), timeoutMs);
        forceClose = () => {
          logger.warn(
            { connections: sockets.size },
            'policy server shutdown timed out: closing the remaining connections',
          );
          // Raw sockets too: a TLS handshake in progress is not yet an HTTP connection.
          for (const socket of sockets) socket.destroy();
        };
        s.close(() => {
          clearTimeout(timer);
          state = 'closed';
          logger.info('policy server closed');
          resolve();
        });
        s.closeIdleConnections();
        // A client may hold connections that never carried a request (a spare the API server
        // dialled, a TLS handshake): not idle to Node, yet nothing to wait for. Once no request
        // has been in flight for a short grace (a request half-received at close still gets
        // its answer), they are closed rather than kept until the timeout.
        let grace: NodeJS.Timeout | undefined;
        onDrained = () => {
          clearTimeout(grace);
          grace = setTimeout(() => {
            if (inFlight === 0) for (const socket of sockets) socket.destroy();
          }, DRAIN_GRACE_MS);
        };
        if (inFlight === 0) onDrained();
      });
      return closing;
    },
  };
}

function createNodeServer(
  options: http.ServerOptions,
  tls: { cert: Buffer; key: Buffer } | undefined,
  listener: http.RequestListener,
): http.Server | https.Server {
  if (!tls) return http.createServer(options, listener);
  try {
    return https.createServer({ ...options, ...tls }, listener);
  } catch (e: unknown) {
    throw new PalisadeError(
      'config_invalid',
      `TLS certificate or key is unusable: ${errorMessage(e)}`,
      {
        cause: e,
      },
    );
  }
}

async function readTls(files: TlsFiles): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (e: unknown) {
      throw new PalisadeError(
        'file_unreadable',
        `cannot read TLS ${what} ${path}: ${errorMessage(e)}`,
        {
          cause: e,
        },
      );
    }
  };
  // In order, so that with both missing the error always names the certificate first.
  const cert = await read(files.certFile, 'certificate');
  const key = await read(files.keyFile, 'key');
  return { cert, key };
}

function bind(server: http.Server, port: number, addr: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => {
      reject(
        new PalisadeError('config_invalid', `cannot listen on ${addr}:${port}: ${e.message}`, {
          cause: e,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, addr, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
