import type { Environment } from '@marcbachmann/cel-js';
import { registerEncodersLibrary } from './encoders.js';
import { registerFormatLibrary } from './format.js';
import { registerListsLibrary } from './lists.js';
import { registerNetLibrary } from './net.js';
import { registerQuantityLibrary } from './quantity.js';
import { registerRegexLibrary } from './regex.js';
import { registerSemverLibrary } from './semver.js';
import { registerSetsLibrary } from './sets.js';
import { registerStringsLibrary } from './strings.js';
import { registerUrlsLibrary } from './urls.js';

/**
 * Registers the Kubernetes CEL libraries (lists, regex, urls, quantity, ip, cidr, format,
 * semver, sets, extended strings, base64 encoders) on `env`.
 *
 * The regex library goes first because it replaces cel-js's backtracking `matches` with RE2
 * (see `regex.ts`). Known gaps we cannot close from here: cel-js's built-in `lowerAscii` and
 * `upperAscii` also change non-ASCII letters, and its `indexOf`, `lastIndexOf` and `substring`
 * count UTF-16 units rather than code points (they differ from cel-go only for characters
 * outside the Basic Multilingual Plane); none can be overridden without changing cel-js.
 */
export function registerKubernetesLibraries(env: Environment): void {
  registerRegexLibrary(env);
  registerListsLibrary(env);
  registerStringsLibrary(env);
  registerSetsLibrary(env);
  registerEncodersLibrary(env);
  registerUrlsLibrary(env);
  registerQuantityLibrary(env);
  registerSemverLibrary(env);
  registerFormatLibrary(env);
  registerNetLibrary(env);
}
