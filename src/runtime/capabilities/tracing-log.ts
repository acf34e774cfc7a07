import { isJsonObject, type JsonValue } from '../../shared/admission.js';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

const LEVELS = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  ERROR: 'error',
} as const;

function parseEntry(payload: Uint8Array): {
  level: (typeof LEVELS)[keyof typeof LEVELS];
  message: string;
  data: Record<string, JsonValue>;
} {
  const entry = JSON.parse(new TextDecoder().decode(payload)) as JsonValue;
  if (!isJsonObject(entry)) throw new Error('a log entry must be a JSON object');
  const { level, message, ...data } = entry;
  if (typeof level !== 'string') throw new Error('missing field `level`');
  const name = level.toUpperCase();
  const mapped = Object.hasOwn(LEVELS, name) ? LEVELS[name as keyof typeof LEVELS] : undefined;
  if (mapped === undefined) throw new Error(`unknown log level ${level}`);
  if (message !== undefined && message !== null && typeof message !== 'string') {
    throw new Error('invalid type: `message` must be a string');
  }
  return { level: mapped, message: message ?? '', data };
}

/**
 * `tracing/log`: a policy's log line, written through the server's logger with the policy id.
 * As in Kubewarden (`policy_tracing.rs`) a malformed entry is reported on the host's log and the
 * guest still gets an empty success: logging must never change a policy's verdict.
 */
export function tracingLog(logger: Logger, policyId: string, payload: Uint8Array): void {
  try {
    const { level, message, data } = parseEntry(payload);
    logger[level]({ policy: policyId, target: 'policy_log', data }, message);
  } catch (e) {
    logger.error(
      { policy: policyId, payload: new TextDecoder().decode(payload), error: errorMessage(e) },
      'Cannot log event',
    );
  }
}
