import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * Requests a run; `idle()` resolves once no run is under way or requested, which is what a
 * leader that lost its lease waits for before another process may take over the writes.
 */
export type SerialScheduler = (() => void) & { idle(): Promise<void> };

/**
 * Runs the reconcile serially: a change during a run schedules exactly one more run, so a burst
 * of `kubectl apply` costs two reconciles, not one per event. A failed run is logged and the
 * next request runs again: reconciles recompute everything, so nothing is lost by waiting.
 */
export function serialScheduler(run: () => Promise<void>, logger: Logger): SerialScheduler {
  let requested = 0;
  let loop: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    let handled: number;
    do {
      handled = requested;
      await run().catch((e: unknown) => {
        logger.error({ error: errorMessage(e) }, 'reconcile failed; retrying on the next change');
      });
    } while (handled !== requested);
    // Cleared in the same synchronous step as the last check, so no request falls in between.
    loop = undefined;
  };
  const schedule = () => {
    requested++;
    // drain() awaits before it can finish, so this assignment happens before it clears it.
    loop ??= drain();
  };
  return Object.assign(schedule, {
    idle: async () => {
      await loop;
    },
  });
}
