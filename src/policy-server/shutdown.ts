import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { CloseOptions } from './server.js';

/** The part of `process` the handlers use; passed in so only `src/bin` touches the real one. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exitCode?: number | string | undefined;
}

export interface Closable {
  close(options?: CloseOptions): Promise<void>;
}

export interface ShutdownOptions {
  /** Default: SIGTERM (kubelet) and SIGINT (Ctrl-C). */
  readonly signals?: readonly NodeJS.Signals[];
  /** Called once the server has closed (or failed to), e.g. to stop other components. */
  readonly onClosed?: (error?: unknown) => void;
}

/**
 * Wires signals to a graceful `close()`. The first signal drains; a second one (an impatient
 * Ctrl-C, or a kubelet about to SIGKILL) destroys what is left at once. Sets `exitCode`
 * rather than calling `exit()`, so pending log lines are flushed and the process ends when
 * the event loop is empty. Returns a function that removes the handlers.
 */
export function installShutdownHandlers(
  server: Closable,
  logger: Logger,
  proc: SignalSource,
  options: ShutdownOptions = {},
): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) {
      logger.warn({ signal }, 'second signal: closing remaining connections now');
      void server.close({ timeoutMs: 0 });
      return;
    }
    received = true;
    logger.info({ signal }, 'signal received: shutting down');
    server.close().then(
      () => {
        proc.exitCode ??= 0;
        options.onClosed?.();
      },
      (e: unknown) => {
        logger.error({ err: e }, `shutdown failed: ${errorMessage(e)}`);
        proc.exitCode = 1;
        options.onClosed?.(e);
      },
    );
  };
  for (const signal of signals) proc.on(signal, onSignal);
  return () => {
    for (const signal of signals) proc.off(signal, onSignal);
  };
}
