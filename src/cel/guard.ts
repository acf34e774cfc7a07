import { Script, createContext } from 'node:vm';
import { PalisadeError } from '../shared/errors.js';

/**
 * Runs `fn` synchronously and stops it if it is still running after `timeoutMs`.
 *
 * CEL runs on the event loop, so a runaway comprehension would stall every request. V8
 * can only interrupt synchronous JavaScript from its watchdog, which `vm` exposes through
 * `timeout`; the watchdog thread costs ~0.1 ms per call (measured in cel.md §4), so
 * callers use this only for expressions whose static cost is not bounded by their input.
 */
export function runWithDeadline<T>(fn: () => T, timeoutMs: number, what: string): T {
  const slot = guardSlot();
  slot.sandbox.fn = fn;
  try {
    return slot.script.runInContext(slot.context, {
      timeout: Math.max(1, Math.ceil(timeoutMs)),
    }) as T;
  } catch (e) {
    if (isTimeout(e)) {
      throw new PalisadeError(
        'cel_timeout',
        `${what}: evaluation stopped after ${timeoutMs} ms (time budget exceeded)`,
        { cause: e },
      );
    }
    throw e;
  } finally {
    slot.sandbox.fn = undefined;
  }
}

interface GuardSlot {
  readonly sandbox: { fn: (() => unknown) | undefined };
  readonly context: object;
  readonly script: Script;
}

let slot: GuardSlot | undefined;

/** One context and one compiled script for the whole process: creating them per call costs more than the call. */
function guardSlot(): GuardSlot {
  if (slot) return slot;
  const sandbox: GuardSlot['sandbox'] = { fn: undefined };
  slot = { sandbox, context: createContext(sandbox), script: new Script('fn()') };
  return slot;
}

function isTimeout(e: unknown): boolean {
  return (
    typeof e === 'object' && e !== null && 'code' in e && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT'
  );
}
