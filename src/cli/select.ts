import type { PolicyDefinition } from '../engine/index.js';
import type { JsonValue } from '../shared/admission.js';
import { PalisadeError } from '../shared/errors.js';

/**
 * Picks one policy by id (`clusterwide-foo`) or name (`foo`); when the source has only one,
 * no name is needed. The error lists what is available, so the user can pick.
 */
export function selectPolicy(
  defs: readonly PolicyDefinition[],
  wanted: string | undefined,
  where: string,
): PolicyDefinition {
  if (wanted === undefined) {
    const [only, ...rest] = defs;
    if (only && rest.length === 0) return only;
    if (!only) throw new PalisadeError('manifest_invalid', `${where} defines no policy`);
    throw new PalisadeError(
      'manifest_invalid',
      `${where} defines ${defs.length} policies; choose one of: ${ids(defs)}`,
    );
  }
  const byId = defs.find((d) => d.id === wanted);
  const byName = defs.filter((d) => d.name === wanted);
  if (byId) return byId;
  if (byName.length === 1 && byName[0]) return byName[0];
  if (byName.length > 1) {
    throw new PalisadeError(
      'manifest_invalid',
      `${where}: "${wanted}" names ${byName.length} policies; use one of the ids: ${ids(byName)}`,
    );
  }
  throw new PalisadeError(
    'policy_not_found',
    `${where} has no policy "${wanted}"; available: ${ids(defs)}`,
  );
}

function ids(defs: readonly PolicyDefinition[]): string {
  return defs.map((d) => d.id).join(', ');
}

/** The definition with its settings replaced (a test case's or `--settings-json` override). */
export function withSettings(def: PolicyDefinition, settings: JsonValue): PolicyDefinition {
  if (def.body.type !== 'policy') {
    throw new PalisadeError(
      'manifest_invalid',
      `${def.id} is a policy group: settings overrides apply to single policies`,
    );
  }
  return {
    ...def,
    body: { ...def.body, settings },
  };
}
