import type { PolicyServerInput } from './policy-server-resources-spec.js';

/**
 * `sources.yml` for the policy server (Kubewarden's shape, which `parseSources` in
 * src/oci/sources.ts reads), or undefined when the PolicyServer trusts nothing extra. JSON,
 * which is YAML, so the text is stable: its hash goes on the pod template.
 */
export function policyServerSourcesYaml(ps: PolicyServerInput): string | undefined {
  const insecure = ps.spec.insecureSources ?? [];
  const authorities = Object.entries(ps.spec.sourceAuthorities ?? {});
  if (insecure.length === 0 && authorities.length === 0) return undefined;
  const doc = {
    insecure_sources: [...insecure],
    source_authorities: Object.fromEntries(
      authorities.map(([host, pems]) => [host, pems.map((data) => ({ type: 'Data', data }))]),
    ),
  };
  return JSON.stringify(doc, null, 2);
}
