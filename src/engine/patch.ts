import fastJsonPatch from 'fast-json-patch';
import type { JsonValue } from '../shared/admission.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';

export type PatchOperation = fastJsonPatch.Operation;

/**
 * The RFC 6902 patch that turns `original` into `mutated`. Policies return the whole mutated
 * object (Kubewarden's `mutated_object`); the API server wants a patch.
 */
export function diffPatch(original: JsonValue | undefined, mutated: JsonValue): PatchOperation[] {
  if (original === undefined || original === null || typeof original !== 'object') {
    return [{ op: 'replace', path: '', value: mutated }];
  }
  if (mutated === null || typeof mutated !== 'object') {
    return [{ op: 'replace', path: '', value: mutated }];
  }
  return fastJsonPatch.compare(original, mutated);
}

/** Applies `patch` to a copy of `document`; throws `mutation_failed` naming the failing operation. */
export function applyPatch(
  document: JsonValue | undefined,
  patch: readonly PatchOperation[],
): JsonValue {
  try {
    const copy = structuredClone(document ?? null);
    const result = fastJsonPatch.applyPatch(copy, [...patch], true, false);
    return result.newDocument;
  } catch (e) {
    throw new PalisadeError('mutation_failed', `cannot apply patch: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}

export function encodePatch(patch: readonly PatchOperation[]): string {
  return Buffer.from(JSON.stringify(patch)).toString('base64');
}

export function decodePatch(patch: string): PatchOperation[] {
  return JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as PatchOperation[];
}
