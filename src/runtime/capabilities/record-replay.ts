import { writeFile } from 'node:fs/promises';
import { PalisadeError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { createCallbackHandler } from './handler.js';
import { createHostCapabilities, type HostCapabilitiesOptions } from './host-capabilities.js';
import {
  describeRequest,
  formatSession,
  parseSession,
  sameRequest,
  type SessionExchange,
} from './session.js';
import type { CallbackHandler, HostCapabilities } from './types.js';

/** A handler that forwards to `inner` and keeps every exchange, in the order calls were made. */
export function recordingCallbackHandler(inner: CallbackHandler): {
  readonly handler: CallbackHandler;
  /** The exchanges answered so far (a call still in flight is not part of the session yet). */
  readonly exchanges: () => readonly SessionExchange[];
} {
  const slots: (SessionExchange | undefined)[] = [];
  const decoder = new TextDecoder();
  return {
    handler: {
      async handle(request) {
        const slot = slots.length;
        slots.push(undefined);
        try {
          const payload = await inner.handle(request);
          slots[slot] = {
            request,
            response: { type: 'Success', payload: decoder.decode(payload) },
          };
          return payload;
        } catch (e) {
          slots[slot] = { request, response: { type: 'Error', message: errorMessage(e) } };
          throw e;
        }
      },
    },
    exchanges: () => slots.filter((s) => s !== undefined),
  };
}

/**
 * A handler that answers from a session, in order, like kwctl's replay proxy: the next recorded
 * request must equal the one made, else the call fails with the expected and actual requests.
 */
export function replayingCallbackHandler(exchanges: readonly SessionExchange[]): {
  readonly handler: CallbackHandler;
  /** Recorded exchanges not replayed yet; a test can assert the policy made every call. */
  readonly remaining: () => readonly SessionExchange[];
} {
  const queue = [...exchanges];
  const encoder = new TextEncoder();
  return {
    handler: {
      handle(request) {
        const next = queue.shift();
        if (next === undefined) {
          return Promise.reject(
            new Error(
              `Replay error: the list of recorded responses is empty (got ${describeRequest(request)})`,
            ),
          );
        }
        if (!sameRequest(next.request, request)) {
          return Promise.reject(
            new Error(
              `Replay error: unexpected request. Was expecting ${describeRequest(next.request)}, got ${describeRequest(request)} instead`,
            ),
          );
        }
        return next.response.type === 'Success'
          ? Promise.resolve(encoder.encode(next.response.payload))
          : Promise.reject(new Error(next.response.message));
      },
    },
    remaining: () => [...queue],
  };
}

export interface RecordingHostCapabilities {
  readonly capabilities: HostCapabilities;
  readonly exchanges: () => readonly SessionExchange[];
  /** The session in kwctl's format. */
  toYaml(): string;
  /** Writes the session file (`--record-host-capabilities-interactions FILE`). */
  save(file: string): Promise<void>;
}

/**
 * Host capabilities that record what the guest asked and what the host answered. The inner
 * handler is `options.handler` or the real one built from the options; gating, payload errors and
 * `tracing` stay outside the session, exactly as kwctl records only what reaches its handler.
 */
export function recordingHostCapabilities(
  options: HostCapabilitiesOptions,
): RecordingHostCapabilities {
  const recorder = recordingCallbackHandler(options.handler ?? createCallbackHandler(options));
  const capabilities = createHostCapabilities({ ...options, handler: recorder.handler });
  const toYaml = (): string => formatSession(recorder.exchanges());
  return {
    capabilities,
    exchanges: recorder.exchanges,
    toYaml,
    async save(file) {
      try {
        await writeFile(file, toYaml());
      } catch (e) {
        throw new PalisadeError(
          'file_unreadable',
          `cannot write session file ${file}: ${errorMessage(e)}`,
          { cause: e },
        );
      }
    },
  };
}

export interface ReplayingHostCapabilities {
  readonly capabilities: HostCapabilities;
  readonly remaining: () => readonly SessionExchange[];
}

/**
 * Host capabilities answered from a session file (`--replay-host-capabilities-interactions`),
 * with the same gating as live ones. Throws `host_capabilities_session_invalid` at once when the
 * file is malformed, so a broken fixture fails the test run rather than each call.
 */
export function replayingHostCapabilities(
  sessionYaml: string,
  options: { readonly logger: Logger; readonly now?: () => number },
): ReplayingHostCapabilities {
  const replay = replayingCallbackHandler(parseSession(sessionYaml));
  return {
    capabilities: createHostCapabilities({ ...options, handler: replay.handler }),
    remaining: replay.remaining,
  };
}
