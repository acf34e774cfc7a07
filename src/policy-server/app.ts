import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../shared/logger.js';
import { errorMessage } from '../shared/errors.js';
import { errorBody } from './http-io.js';
import { policiesStatus, type PolicyStatusProvider } from './policies-status.js';

export interface AppDeps {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly draining: () => boolean;
  /** Answers `GET /policies`; without it the route says this server does not report status. */
  readonly status?: PolicyStatusProvider;
}

/** Method each known path answers; anything else on a known path is a 405. */
const ROUTE_METHODS: readonly (readonly [RegExp, string])[] = [
  [/^\/(?:validate|audit|validate_raw)\/[^/]+$/, 'POST'],
  [/^\/readiness$/, 'GET, HEAD'],
  [/^\/metrics$/, 'GET, HEAD'],
  [/^\/policies$/, 'GET, HEAD'],
];

/**
 * Everything that is not the admission fast path: readiness, metrics, policy status and the
 * answers for unknown paths and wrong methods. These are rare (a probe every few seconds, a
 * scrape every 15–30 s, an operator's status poll), so they get express's routing and
 * readability; the admission routes never pass through here when called with POST.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/readiness', (_req, res) => {
    if (deps.draining()) {
      sendError(res, 503, 'the policy server is shutting down');
      return;
    }
    res.status(200).type('text/plain').send('ready');
  });

  app.get('/metrics', async (_req, res) => {
    const text = await deps.registry.metrics();
    res.status(200).type(deps.registry.contentType).send(text);
  });

  app.get('/policies', (_req, res) => {
    if (deps.status === undefined) {
      sendError(res, 404, 'this policy server does not report policy status');
      return;
    }
    res.status(200).json(policiesStatus(deps.status));
  });

  app.use((req, res) => {
    const allowed = ROUTE_METHODS.find(([pattern]) => pattern.test(req.path))?.[1];
    if (allowed === undefined) {
      refuse(deps.logger, req, res, 404, `no route for ${req.method} ${req.path}`);
      return;
    }
    res.setHeader('allow', allowed);
    refuse(
      deps.logger,
      req,
      res,
      405,
      `method ${req.method} is not allowed on ${req.path}; use ${allowed}`,
    );
  });

  // Four parameters is how express recognises an error handler.
  app.use((e: unknown, req: Request, res: Response, next: NextFunction) => {
    deps.logger.error({ err: e, path: req.path }, `request failed: ${errorMessage(e)}`);
    if (res.headersSent) {
      next(e);
      return;
    }
    sendError(res, 500, 'Something went wrong');
  });

  return app;
}

function refuse(
  logger: Logger,
  req: Request,
  res: Response,
  status: number,
  message: string,
): void {
  logger.warn({ method: req.method, path: req.path, status }, `request refused: ${message}`);
  sendError(res, status, message);
}

function sendError(res: Response, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(status).type('application/json').send(errorBody(status, message));
}
