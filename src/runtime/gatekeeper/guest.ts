import { createRegoGuest, firstResult } from '../sandbox/rego.js';
import { GuestError, type Guest, type GuestSpec } from '../sandbox/guest.js';

/**
 * Kubewarden's `gatekeeper` mode: input `{review, parameters}` (the settings are the
 * constraint's parameters) and a result that is the list of violations; any violation
 * rejects, with the messages joined as Kubewarden joins them.
 */
export function createGuest(spec: GuestSpec): Guest {
  return createRegoGuest(spec, {
    data: {},
    input: (review) => ({ review, parameters: spec.settings ?? {} }),
    respond: (resultSet) => validationResponse(firstResult(resultSet)),
  });
}

function validationResponse(result: unknown): Record<string, unknown> {
  if (!Array.isArray(result)) {
    throw new GuestError(
      `the Gatekeeper policy must return a list of violations, got ${JSON.stringify(result).slice(0, 200)}`,
    );
  }
  if (result.length === 0) return { accepted: true };
  const messages = result.flatMap((v: unknown) =>
    typeof v === 'object' && v !== null && 'msg' in v && typeof v.msg === 'string' ? [v.msg] : [],
  );
  return { accepted: false, message: messages.join(', ') };
}
