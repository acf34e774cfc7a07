import { describe, expect, it } from 'vitest';
import type { PolicyDefinition } from '../engine/definition.js';
import { definitionFromManifest } from '../engine/manifest.js';
import { definitionsFromDocuments, parseYamlDocuments } from '../engine/sources.js';
import type { JsonObject } from '../shared/admission.js';
import { policiesConfigEntries, renderPoliciesConfig } from './policies-config.js';
import { uniqueName, type PolicyResource } from './webhooks.js';

const RULES = [
  { apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] },
];

const celPolicy: PolicyResource = {
  apiVersion: 'policies.palisade.dev/v1',
  kind: 'ClusterAdmissionPolicy',
  metadata: { name: 'replica-limit', uid: 'u1', generation: 3 },
  spec: {
    module: 'builtin://cel',
    mode: 'monitor',
    mutating: false,
    rules: RULES,
    namespaceSelector: { matchLabels: { team: 'a' } },
    timeoutEvalSeconds: 4,
    message: 'too many replicas',
    // Keys deliberately out of order: the output must not depend on it.
    settings: {
      validations: [{ message: 'at most 3', expression: 'object.spec.replicas <= 3' }],
      variables: [{ name: 'r', expression: 'object.spec.replicas' }],
    },
  },
};

const contextAware: PolicyResource = {
  apiVersion: 'policies.palisade.dev/v1',
  kind: 'ClusterAdmissionPolicy',
  metadata: { name: 'ns-label' },
  spec: {
    module: 'registry://ghcr.io/example/ns-label:v1',
    mutating: true,
    rules: RULES,
    contextAwareResources: [{ apiVersion: 'v1', kind: 'Namespace' }],
    executionMode: 'kubewarden-wapc',
  },
};

const namespaced: PolicyResource = {
  apiVersion: 'policies.palisade.dev/v1',
  kind: 'AdmissionPolicy',
  metadata: { name: 'tag', namespace: 'team-a' },
  spec: { module: 'file:///policies/tag.wasm', mutating: false, rules: RULES, settings: {} },
};

const clusterGroup: PolicyResource = {
  apiVersion: 'policies.palisade.dev/v1',
  kind: 'ClusterAdmissionPolicyGroup',
  metadata: { name: 'images' },
  spec: {
    rules: RULES,
    expression: 'signed() || trusted()',
    message: 'untrusted image',
    policies: {
      signed: {
        module: 'registry://ghcr.io/example/signed:v1',
        settings: { keys: ['k'] },
        timeoutEvalSeconds: 3,
        contextAwareResources: [{ apiVersion: 'v1', kind: 'Secret' }],
      },
      trusted: { module: 'builtin://cel', settings: { validations: [] } },
    },
  },
};

const namespacedGroup: PolicyResource = {
  apiVersion: 'policies.palisade.dev/v1',
  kind: 'AdmissionPolicyGroup',
  metadata: { name: 'pair', namespace: 'team-b' },
  spec: {
    mode: 'protect',
    rules: RULES,
    expression: 'a() && b()',
    message: 'both',
    policies: { a: { module: 'builtin://cel' }, b: { module: 'builtin://cel' } },
  },
};

const ALL = [celPolicy, contextAware, namespaced, clusterGroup, namespacedGroup];

/**
 * What the policy server does with the text: parse it as YAML and read it as a policies.yml
 * map (src/engine/sources.ts), nothing from this module.
 */
function readBack(text: string): PolicyDefinition[] {
  return definitionsFromDocuments(parseYamlDocuments(text, 'policies.yml'), 'policies.yml');
}

/**
 * What must survive the trip: everything but where it came from (name, source, settingsPath),
 * the match (the webhook's business) and host capabilities (granted by the file only; checked
 * separately). An empty contextAwareResources list is the same as none.
 */
function comparable(def: PolicyDefinition): unknown {
  const strip = (m: object) => {
    const rest: Record<string, unknown> = { ...m };
    delete rest['settingsPath'];
    delete rest['hostCapabilities'];
    const car = rest['contextAwareResources'];
    if (Array.isArray(car) && car.length === 0) delete rest['contextAwareResources'];
    return rest;
  };
  const body =
    def.body.type === 'group'
      ? { ...def.body, members: def.body.members.map(strip) }
      : strip(def.body);
  return { id: def.id, mode: def.mode, message: def.message, readError: def.readError, body };
}

/** The same object with keys in reverse order at every depth. */
function reverseKeys(value: JsonObject): JsonObject {
  const flip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(flip)
      : typeof v === 'object' && v !== null
        ? Object.fromEntries(
            Object.entries(v)
              .reverse()
              .map(([k, x]) => [k, flip(x)]),
          )
        : v;
  return flip(value) as JsonObject;
}

describe('policies.yml for a PolicyServer', () => {
  it('round trip: the policy server reads back what the manifests define', () => {
    const text = renderPoliciesConfig(ALL, { namespacedPoliciesCapabilities: ['oci/*'] });
    const read = readBack(text);
    expect(read.map((d) => d.readError)).toEqual(ALL.map(() => undefined));
    const fromManifests = ALL.map((p) =>
      definitionFromManifest(p as unknown as JsonObject, `${p.kind}/${uniqueName(p)}`),
    );
    expect(fromManifests.map((d) => d.readError)).toEqual(ALL.map(() => undefined));
    const byId = new Map(read.map((d) => [d.id, d]));
    for (const def of fromManifests) {
      const back = byId.get(def.id);
      expect(back, def.id).toBeDefined();
      expect(comparable(back!), def.id).toEqual(comparable(def));
    }
    expect(read).toHaveLength(ALL.length);
  });

  it('grants host capabilities as Kubewarden does: all to cluster-wide, the list to namespaced', () => {
    const capabilities = (defs: PolicyDefinition[]) =>
      Object.fromEntries(
        defs.map((d) => [
          d.id,
          d.body.type === 'group'
            ? d.body.members.map((m) => m.hostCapabilities)
            : d.body.hostCapabilities,
        ]),
      );
    expect(capabilities(readBack(renderPoliciesConfig(ALL)))).toEqual({
      'clusterwide-replica-limit': ['*'],
      'clusterwide-ns-label': ['*'],
      'namespaced-team-a-tag': ['*'],
      'clusterwide-group-images': [['*'], ['*']],
      'namespaced-group-team-b-pair': [['*'], ['*']],
    });
    const limited = readBack(
      renderPoliciesConfig(ALL, { namespacedPoliciesCapabilities: ['net/v1/dns_lookup_host'] }),
    );
    expect(capabilities(limited)).toMatchObject({
      'clusterwide-replica-limit': ['*'],
      'namespaced-team-a-tag': ['net/v1/dns_lookup_host'],
      'namespaced-group-team-b-pair': [['net/v1/dns_lookup_host'], ['net/v1/dns_lookup_host']],
    });
    const none = readBack(
      renderPoliciesConfig([namespaced], { namespacedPoliciesCapabilities: [] }),
    );
    expect(none[0]?.body.type === 'policy' && none[0].body.hostCapabilities).toEqual([]);
  });

  it("writes Kubewarden's entry shape", () => {
    const entries = policiesConfigEntries(ALL);
    expect(entries.get('clusterwide-ns-label')).toEqual({
      namespacedName: { Namespace: '', Name: 'ns-label' },
      module: 'registry://ghcr.io/example/ns-label:v1',
      policyMode: 'protect',
      allowedToMutate: true,
      contextAwareResources: [{ apiVersion: 'v1', kind: 'Namespace' }],
      hostCapabilities: ['*'],
      executionMode: 'kubewarden-wapc',
    });
    expect(entries.get('namespaced-team-a-tag')).toMatchObject({
      namespacedName: { Namespace: 'team-a', Name: 'tag' },
      contextAwareResources: [],
      settings: {},
    });
    expect(entries.get('clusterwide-group-images')).toEqual({
      namespacedName: { Namespace: '', Name: 'images' },
      policyMode: 'protect',
      expression: 'signed() || trusted()',
      message: 'untrusted image',
      policies: {
        signed: {
          module: 'registry://ghcr.io/example/signed:v1',
          settings: { keys: ['k'] },
          timeoutEvalSeconds: 3,
          contextAwareResources: [{ apiVersion: 'v1', kind: 'Secret' }],
          hostCapabilities: ['*'],
        },
        trusted: {
          module: 'builtin://cel',
          settings: { validations: [] },
          contextAwareResources: [],
          hostCapabilities: ['*'],
        },
      },
    });
    // Nothing the webhook decides travels to the server.
    expect(JSON.stringify([...entries.values()])).not.toMatch(/rules|namespaceSelector/);
  });

  it('is deterministic: input order and key order do not change a byte', () => {
    const text = renderPoliciesConfig(ALL);
    const reversed = [...ALL].reverse().map((p) => ({ ...p, spec: reverseKeys(p.spec) }));
    expect(JSON.stringify(reversed[4]?.spec)).not.toBe(JSON.stringify(celPolicy.spec));
    expect(renderPoliciesConfig(reversed)).toBe(text);
    expect(text.indexOf('"clusterwide-group-images"')).toBeLessThan(
      text.indexOf('"clusterwide-ns-label"'),
    );
    // Sorted inside settings too: "validations" before "variables", whatever the manifest said.
    expect(text.indexOf('"validations"')).toBeLessThan(text.indexOf('"variables"'));
    expect(renderPoliciesConfig([])).toBe('{}\n');
  });
});
