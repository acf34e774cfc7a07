import {
  ACCEPTED_API_VERSIONS,
  KUBEWARDEN_GROUP,
  ObjectMeta,
  PALISADE_GROUP,
  POLICY_KINDS,
  type ClusterAdmissionPolicyGroupSpec,
  type ClusterAdmissionPolicySpec,
  type PolicyKind,
} from '../api/policies/v1.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../shared/admission.js';
import { PalisadeError, formatFieldErrors, type FieldError } from '../shared/errors.js';
import { schemaErrors } from '../shared/schema-errors.js';
import type { GroupMemberSpec, MatchSpec, PolicyDefinition } from './definition.js';

/** True for documents of one of the four policy kinds in our group or Kubewarden's. */
export function isManifest(doc: JsonValue): doc is JsonObject {
  if (!isJsonObject(doc) || typeof doc.kind !== 'string' || typeof doc.apiVersion !== 'string')
    return false;
  const group = doc.apiVersion.split('/')[0];
  return doc.kind in POLICY_KINDS && (group === PALISADE_GROUP || group === KUBEWARDEN_GROUP);
}

/** Kubewarden's unique names: the webhook path and policies.yml key of each kind. */
export function policyId(kind: PolicyKind, name: string, namespace: string): string {
  switch (kind) {
    case 'ClusterAdmissionPolicy':
      return `clusterwide-${name}`;
    case 'AdmissionPolicy':
      return `namespaced-${namespace}-${name}`;
    case 'ClusterAdmissionPolicyGroup':
      return `clusterwide-group-${name}`;
    case 'AdmissionPolicyGroup':
      return `namespaced-group-${namespace}-${name}`;
  }
}

/**
 * Turns a manifest into a definition. A manifest whose spec is invalid still yields a
 * definition (carrying `readError`), so the policy answers with its error instead of the
 * whole server refusing to start; one without a usable name cannot, and throws.
 */
export function definitionFromManifest(doc: JsonObject, source: string): PolicyDefinition {
  const kind = doc.kind as PolicyKind;
  const metaErrors = schemaErrors(ObjectMeta, doc.metadata, 'metadata');
  const meta = isJsonObject(doc.metadata) ? doc.metadata : {};
  if (metaErrors.length > 0 || typeof meta.name !== 'string') {
    throw new PalisadeError(
      'manifest_invalid',
      `${source}: ${kind}: ${formatFieldErrors(metaErrors)}`,
      {
        fields: metaErrors,
      },
    );
  }
  const name = meta.name;
  const namespaced = kind === 'AdmissionPolicy' || kind === 'AdmissionPolicyGroup';
  const namespace = namespaced
    ? typeof meta.namespace === 'string'
      ? meta.namespace
      : 'default'
    : '';
  const id = policyId(kind, name, namespace);
  const errors: FieldError[] = [];
  const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';
  if (!(ACCEPTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    errors.push({
      path: 'apiVersion',
      message: `"${apiVersion}" is not supported; use ${ACCEPTED_API_VERSIONS.join(' or ')}`,
    });
  }
  errors.push(...schemaErrors(POLICY_KINDS[kind], doc.spec, 'spec'));
  const spec = (isJsonObject(doc.spec) ? doc.spec : {}) as unknown as ClusterAdmissionPolicySpec &
    Partial<ClusterAdmissionPolicyGroupSpec>;
  const base = { id, name, source, mode: spec.mode ?? 'protect' } as const;
  const match = matchSpecOf(spec, namespaced ? namespace : undefined);
  if (kind === 'ClusterAdmissionPolicyGroup' || kind === 'AdmissionPolicyGroup') {
    const members: GroupMemberSpec[] = Object.entries(spec.policies ?? {}).map(
      ([memberName, m]) => ({
        name: memberName,
        module: m.module,
        settings: m.settings as JsonValue | undefined,
        settingsPath: `spec.policies.${memberName}.settings`,
        ...(m.timeoutEvalSeconds !== undefined ? { timeoutEvalSeconds: m.timeoutEvalSeconds } : {}),
        ...(m.executionMode ? { executionMode: m.executionMode } : {}),
        ...('contextAwareResources' in m ? { contextAwareResources: m.contextAwareResources } : {}),
      }),
    );
    return withError(
      {
        ...base,
        message: spec.message ?? '',
        match,
        body: { type: 'group', expression: spec.expression ?? '', members },
      },
      errors,
    );
  }
  return withError(
    {
      ...base,
      ...(spec.message !== undefined ? { message: spec.message } : {}),
      match,
      body: {
        type: 'policy',
        module: spec.module,
        settings: spec.settings as JsonValue | undefined,
        settingsPath: 'spec.settings',
        allowedToMutate: spec.mutating,
        ...(spec.executionMode ? { executionMode: spec.executionMode } : {}),
        ...(spec.contextAwareResources
          ? { contextAwareResources: spec.contextAwareResources }
          : {}),
        ...(spec.timeoutEvalSeconds !== undefined
          ? { timeoutEvalSeconds: spec.timeoutEvalSeconds }
          : {}),
      },
    },
    errors,
  );
}

function matchSpecOf(spec: ClusterAdmissionPolicySpec, namespace: string | undefined): MatchSpec {
  return {
    rules: Array.isArray(spec.rules) ? spec.rules : [],
    ...(spec.namespaceSelector ? { namespaceSelector: spec.namespaceSelector } : {}),
    ...(spec.objectSelector ? { objectSelector: spec.objectSelector } : {}),
    ...(spec.matchConditions ? { matchConditions: spec.matchConditions } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
  };
}

function withError(def: PolicyDefinition, errors: readonly FieldError[]): PolicyDefinition {
  if (errors.length === 0) return def;
  return { ...def, readError: `${def.source}: invalid ${def.id}: ${formatFieldErrors(errors)}` };
}
