import { isPalisadeError, type ErrorCode, type PalisadeError } from '../../src/shared/errors.js';

/** The PalisadeError `fn` throws; anything else (or nothing) fails the test that asked. */
export function thrown(fn: () => unknown, code: ErrorCode): PalisadeError {
  try {
    fn();
  } catch (e) {
    if (isPalisadeError(e, code)) return e;
    throw e;
  }
  throw new Error(`expected ${code}`);
}

/** What a promise rejects with, as code and text; resolving fails the test that asked. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    return { code: isPalisadeError(e) ? e.code : 'not a PalisadeError', message: String(e) };
  }
  throw new Error('expected a failure');
}
