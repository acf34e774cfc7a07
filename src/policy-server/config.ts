import { PalisadeError, type FieldError } from '../shared/errors.js';

/**
 * Kubernetes refuses request bodies above 3 MiB (`MaxRequestSizeBytes`), and an UPDATE
 * review carries both `object` and `oldObject` of at most that size between them, plus
 * the envelope (userInfo, options, GVKs). 64 KiB of head-room covers the envelope without
 * letting a client park an unbounded body in memory.
 */
export const DEFAULT_BODY_LIMIT_BYTES = 3 * 1024 * 1024 + 64 * 1024;

/** Kubewarden's default listening port. */
export const DEFAULT_PORT = 3000;

/** A kubelet's default termination grace period is 30 s; leave room for the rest of shutdown. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Longer than Go's `http.Transport.IdleConnTimeout` (90 s), which the API server's webhook
 * client uses: the client then always closes an idle connection first, and never sends a
 * POST on a socket the server is closing (which Go will not retry, a failed admission).
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 95_000;

/** Admission webhooks time out after at most 30 s; a slower request body is not coming. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface PolicyServerConfig {
  /** Address to bind; `127.0.0.1` unless the caller says otherwise (in a pod: `0.0.0.0`). */
  readonly addr: string;
  /** 0 picks a free port (tests, benchmarks). */
  readonly port: number;
  /** Serve HTTPS with these PEM files; plain HTTP when absent. */
  readonly tls?: TlsFiles;
  readonly bodyLimitBytes: number;
  /** How long `close()` waits for in-flight requests before destroying their sockets. */
  readonly shutdownTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** What callers may set; everything has a default. */
export type PolicyServerConfigInput = Partial<PolicyServerConfig>;

/**
 * Validates and defaults the server's configuration once, then freezes it, so the server
 * never re-checks a value per request and nobody changes it under a running server.
 * Throws `config_invalid` naming every bad field.
 */
export function createPolicyServerConfig(
  input: PolicyServerConfigInput = {},
): Readonly<PolicyServerConfig> {
  const config: PolicyServerConfig = {
    addr: input.addr ?? '127.0.0.1',
    port: input.port ?? DEFAULT_PORT,
    bodyLimitBytes: input.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    shutdownTimeoutMs: input.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
    keepAliveTimeoutMs: input.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    requestTimeoutMs: input.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    ...(input.tls ? { tls: Object.freeze({ ...input.tls }) } : {}),
  };
  const errors = configErrors(config);
  if (errors.length > 0) {
    throw new PalisadeError(
      'config_invalid',
      `policy server configuration is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
      { fields: errors },
    );
  }
  return Object.freeze(config);
}

function configErrors(config: PolicyServerConfig): FieldError[] {
  const errors: FieldError[] = [];
  if (config.addr.trim() === '') errors.push({ path: 'addr', message: 'must not be empty' });
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65_535) {
    errors.push({
      path: 'port',
      message: `must be an integer from 0 to 65535, got ${config.port}`,
    });
  }
  const positive = [
    'bodyLimitBytes',
    'shutdownTimeoutMs',
    'keepAliveTimeoutMs',
    'requestTimeoutMs',
  ] as const;
  for (const field of positive) {
    const value = config[field];
    if (!Number.isInteger(value) || value <= 0) {
      errors.push({ path: field, message: `must be a positive integer, got ${value}` });
    }
  }
  if (config.tls) {
    if (config.tls.certFile === '') errors.push({ path: 'tls.certFile', message: 'is empty' });
    if (config.tls.keyFile === '') errors.push({ path: 'tls.keyFile', message: 'is empty' });
  }
  return errors;
}
