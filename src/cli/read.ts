import { readFile } from 'node:fs/promises';
import type { JsonValue } from '../shared/admission.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';

/** Reads a JSON file; errors name the file and what is wrong with it. */
export async function readJsonFile(path: string): Promise<JsonValue> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new PalisadeError('file_unreadable', `cannot read ${path}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new PalisadeError('file_unreadable', `${path} is not valid JSON: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}
