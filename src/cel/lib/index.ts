import type { Environment } from '@marcbachmann/cel-js';
import { registerListsLibrary } from './lists.js';
import { registerRegexLibrary } from './regex.js';

/**
 * Registers the Kubernetes CEL libraries (lists, regex, urls, quantity, ip, cidr, format,
 * semver, sets, extended strings, base64 encoders) on `env`.
 */
export function registerKubernetesLibraries(env: Environment): void {
  registerRegexLibrary(env);
  registerListsLibrary(env);
}
