import type { TSchema } from '@sinclair/typebox';
import { isMap, isScalar, isSeq, type Document, type Pair, type YAMLMap } from 'yaml';
import {
  KUBEWARDEN_GROUP,
  PALISADE_GROUP,
  POLICY_KINDS,
  PolicyServerSpec,
  type PolicyKind,
} from '../api/policies/v1.js';
import { definitionFromManifest } from '../engine/manifest.js';
import { isJsonObject, type JsonValue } from '../shared/admission.js';
import { errorMessage, isPalisadeError, type FieldError } from '../shared/errors.js';
import { schemaErrors } from '../shared/schema-errors.js';

/**
 * The rules of `palisade migrate` for one resource: which Kubewarden resources move to
 * `policies.palisade.dev/v1`, what is dropped on the way (status, API-server bookkeeping,
 * Kubewarden's finalizers, fields no schema defines), what is kept but reported (PolicyServer
 * settings Palisade cannot honour yet) and whether the result loads. Edits are made on the
 * yaml nodes in place, so the comments around what stays are kept.
 */

/**
 * How much a finding matters. `lost`: something in the input is not in the output. `action`:
 * carried over, but it will not work in Palisade as it did in Kubewarden until someone acts.
 * `note`: changed, but nothing the user wrote is lost (status, API-server bookkeeping,
 * Kubewarden's finalizer). `verbose`: nothing changed; printed with `--verbose` only.
 */
export type FindingLevel = 'lost' | 'action' | 'note' | 'verbose';

/** Records a finding about the resource being migrated; `path` is its field, kubectl style. */
export type Report = (level: FindingLevel, path: string | undefined, message: string) => void;

/** Field lists, written as one string each to keep the tables readable. */
const names = (list: string): Set<string> => new Set(list.trim().split(/\s+/));

const POLICY_KIND_NAMES = new Set(Object.keys(POLICY_KINDS));
const MIGRATED_KINDS = new Set([...POLICY_KIND_NAMES, 'PolicyServer']);
/** Kubewarden still serves v1alpha2 for these three (kubewarden.md §3). */
const V1ALPHA2_KINDS = names('ClusterAdmissionPolicy AdmissionPolicy PolicyServer');
const TOP_LEVEL = names('apiVersion kind metadata spec status');
const KUBEWARDEN_FINALIZERS = names('kubewarden.io/finalizer kubewarden');
/** Written by the API server or kubectl for the Kubewarden object; stale on a new object. */
const SERVER_METADATA = names(`uid resourceVersion generation creationTimestamp
  deletionTimestamp deletionGracePeriodSeconds managedFields selfLink`);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** v1alpha2 `PolicySpec` (+ `namespaceSelector` on ClusterAdmissionPolicy) and `PolicyServerSpec`. */
const V1ALPHA2_POLICY_FIELDS = names(`policyServer module mode settings rules failurePolicy
  mutating matchPolicy objectSelector sideEffects timeoutSeconds`);
const V1ALPHA2_SERVER_FIELDS = names(`image replicas annotations env serviceAccountName
  imagePullSecret insecureSources sourceAuthorities verificationConfig`);

/**
 * Palisade's `PolicyServer.spec` has Kubewarden's fields (kubewarden.md §3.4); any other is
 * dropped. Of these, the ones Palisade's operator and policy server do not act on yet, and why.
 */
const POLICY_SERVER_FIELDS = new Set(Object.keys(PolicyServerSpec.properties));
const POLICY_SERVER_UNSUPPORTED: Readonly<Record<string, string>> = {
  namespacedPoliciesCapabilities:
    'not applied by Palisade yet: namespaced policies may call every host capability, as when it is unset; kept',
  sigstoreTrustConfig:
    'not supported by Palisade yet: it verifies key signatures only (no keyless Sigstore), so it does not use a Sigstore trust root; kept',
  readinessProbePort:
    'not supported by Palisade yet: its policy server answers /readiness on the webhook port; kept',
};

const KUBEWARDEN_SERVER_IMAGE =
  /(^|\/)kubewarden(\/.+)?\/policy-server([:@]|$)|kubewarden-policy-server/;

/**
 * Moves one Kubewarden resource to Palisade's group, in place; answers whether it did.
 * Palisade's own resources and everything else are left as they are.
 */
export function migrateResource(doc: Document.Parsed, node: YAMLMap, report: Report): boolean {
  const apiVersion = text(node, 'apiVersion') ?? '';
  const kind = text(node, 'kind') ?? '';
  const [group, version = ''] = apiVersion.split('/');
  if (group === PALISADE_GROUP) {
    report('verbose', undefined, `already in ${PALISADE_GROUP}, copied unchanged`);
    if (MIGRATED_KINDS.has(kind)) validate(doc, node, report);
    return false;
  }
  if (group !== KUBEWARDEN_GROUP) {
    const labels = node.getIn(['metadata', 'labels'], true);
    if (isMap(labels) && text(labels, 'app.kubernetes.io/part-of') === 'kubewarden') {
      report('note', undefined, "managed by Kubewarden's controller or chart, copied unchanged");
    } else report('verbose', undefined, 'not a Kubewarden resource, copied unchanged');
    return false;
  }
  const served = version === 'v1' || (version === 'v1alpha2' && V1ALPHA2_KINDS.has(kind));
  if (!MIGRATED_KINDS.has(kind) || !served) {
    report(
      'action',
      'apiVersion',
      `copied unchanged: migrate knows ${[...MIGRATED_KINDS].join(', ')} in v1, and ${[...V1ALPHA2_KINDS].join(', ')} in v1alpha2`,
    );
    return false;
  }
  setText(node, 'apiVersion', `${PALISADE_GROUP}/v1`);
  cleanMetadata(node, report);
  if (node.has('status')) {
    node.delete('status');
    report('note', 'status', "dropped (Palisade's controller writes its own)");
  }
  for (const pair of [...node.items]) {
    if (!TOP_LEVEL.has(keyOf(pair))) dropUnknown(node, pair, '', report);
  }
  const spec = node.get('spec', true);
  if (version === 'v1alpha2') fromV1alpha2(kind, spec, report);
  if (isMap(spec) && kind === 'PolicyServer') checkPolicyServer(spec, report);
  else if (isMap(spec)) pruneUnknown(POLICY_KINDS[kind as PolicyKind], spec, 'spec', report);
  validate(doc, node, report);
  return true;
}

function cleanMetadata(node: YAMLMap, report: Report): void {
  const metadata = node.get('metadata', true);
  if (!isMap(metadata)) return;
  const dropped = keysOf(metadata)
    .filter((key) => SERVER_METADATA.has(key) && metadata.delete(key))
    .map((k) => `metadata.${k}`);
  const annotations = metadata.get('annotations', true);
  if (isMap(annotations) && annotations.delete(LAST_APPLIED)) {
    dropped.push(`metadata.annotations["${LAST_APPLIED}"]`);
    if (annotations.items.length === 0) metadata.delete('annotations');
  }
  if (dropped.length > 0) {
    report('note', dropped.join(', '), 'set for the Kubewarden object by the API server, dropped');
  }
  const finalizers = metadata.get('finalizers', true);
  if (isSeq(finalizers)) {
    const ours = finalizers.items.filter(
      (f) => isScalar(f) && KUBEWARDEN_FINALIZERS.has(String(f.value)),
    );
    finalizers.items = finalizers.items.filter((f) => !ours.includes(f));
    if (finalizers.items.length === 0) metadata.delete('finalizers');
    for (const f of ours) {
      const value = isScalar(f) ? String(f.value) : '';
      report(
        'note',
        'metadata.finalizers',
        `${value} is Kubewarden's controller finalizer, dropped`,
      );
    }
  }
  for (const field of ['labels', 'annotations']) {
    const map = metadata.get(field, true);
    const keys = isMap(map) ? keysOf(map).filter((k) => k.includes('kubewarden')) : [];
    if (keys.length > 0) {
      const paths = keys.map((k) => `metadata.${field}${segment(k)}`).join(', ');
      report('verbose', paths, 'Kubewarden keys, kept unchanged');
    }
  }
}

/**
 * v1alpha2 is v1 minus the fields added since, so nothing is renamed: what changes is that
 * those fields take their v1 defaults, and that any of them present in a v1alpha2 document
 * (which Kubewarden's API server pruned) now take effect.
 */
function fromV1alpha2(kind: string, spec: unknown, report: Report): void {
  const server = kind === 'PolicyServer';
  const known = server ? V1ALPHA2_SERVER_FIELDS : V1ALPHA2_POLICY_FIELDS;
  const fields = isMap(spec) ? keysOf(spec) : [];
  const change = `${KUBEWARDEN_GROUP}/v1alpha2 → ${PALISADE_GROUP}/v1`;
  if (server) {
    report('note', 'apiVersion', `${change}: every v1alpha2 field is in v1 unchanged`);
  } else if (!fields.includes('backgroundAudit')) {
    report(
      'note',
      'apiVersion',
      `${change}: spec.backgroundAudit (new in v1) defaults to true, so background audits evaluate this policy; set it to false to keep v1alpha2 behaviour`,
    );
  }
  for (const field of fields) {
    if (known.has(field) || (field === 'namespaceSelector' && kind === 'ClusterAdmissionPolicy'))
      continue;
    report(
      'action',
      `spec${segment(field)}`,
      "not a v1alpha2 field, so Kubewarden's API server pruned it; under v1 it takes effect",
    );
  }
}

function checkPolicyServer(spec: YAMLMap, report: Report): void {
  for (const pair of [...spec.items]) {
    const key = keyOf(pair);
    const unsupported = own(POLICY_SERVER_UNSUPPORTED, key);
    if (unsupported !== undefined) report('action', `spec${segment(key)}`, unsupported);
    else if (!POLICY_SERVER_FIELDS.has(key)) dropUnknown(spec, pair, 'spec', report);
  }
  const image = text(spec, 'image');
  if (image !== undefined && KUBEWARDEN_SERVER_IMAGE.test(image)) {
    report(
      'action',
      'spec.image',
      `${image} is Kubewarden's policy server, kept: set spec.image to a Palisade policy-server image`,
    );
  }
  const verification = spec.get('verificationConfig', true);
  if (verification !== undefined) {
    report(
      'note',
      'spec.verificationConfig',
      'Palisade checks its pubKey entries; keyless entries (genericIssuer, githubAction) are refused at start-up',
    );
  }
  const env = spec.get('env', true);
  if (!isSeq(env)) return;
  env.items.forEach((entry, i) => {
    const name = isMap(entry) ? text(entry, 'name') : undefined;
    if (name?.startsWith('KUBEWARDEN_') !== true) return;
    const instead =
      name === 'KUBEWARDEN_LOG_LEVEL' ? ' (PALISADE_LOG_LEVEL is the equivalent)' : '';
    report(
      'action',
      `spec.env[${i}]`,
      `${name} is read by Kubewarden's policy server only, kept${instead}`,
    );
  });
}

/**
 * Drops the fields the policy schema does not define, recursively: Kubernetes prunes them
 * from Kubewarden's CRDs too, so they never had an effect, but the user wrote them.
 */
function pruneUnknown(schema: TSchema, node: unknown, path: string, report: Report): void {
  if (isMap(node) && schema.type === 'object') {
    const properties = schema.properties as Record<string, TSchema> | undefined;
    const patterns = schema.patternProperties as Record<string, TSchema> | undefined;
    const values = patterns === undefined ? undefined : Object.values(patterns)[0];
    for (const pair of [...node.items]) {
      const key = keyOf(pair);
      const child = (properties && own(properties, key)) ?? values;
      if (child === undefined) dropUnknown(node, pair, path, report);
      else pruneUnknown(child, pair.value, `${path}${segment(key)}`, report);
    }
  } else if (isSeq(node) && schema.type === 'array') {
    node.items.forEach((item, i) => {
      pruneUnknown(schema.items as TSchema, item, `${path}[${i}]`, report);
    });
  }
}

function dropUnknown(map: YAMLMap, pair: Pair, path: string, report: Report): void {
  map.items = map.items.filter((p) => p !== pair);
  const key = keyOf(pair);
  report('lost', path === '' ? key : `${path}${segment(key)}`, 'unknown field, dropped');
}

/**
 * Reads the rewritten document with the engine's manifest reader, as `palisade run` and
 * `palisade serve` will, and reports what would keep the policy from loading: the reader
 * answers one joined `readError`, so the fields are listed again from the same schema.
 * A PolicyServer, which the engine does not read, is checked against its CRD schema.
 */
function validate(doc: Document.Parsed, node: YAMLMap, report: Report): void {
  const manifest = node.toJS(doc, { maxAliasCount: 100 }) as JsonValue;
  if (!isJsonObject(manifest)) return;
  if (manifest.kind === 'PolicyServer') {
    for (const f of schemaErrors(PolicyServerSpec, manifest.spec, 'spec')) {
      report('action', f.path, `${f.message} (Palisade's PolicyServer schema refuses it)`);
    }
    return;
  }
  let fields: readonly FieldError[];
  let whole: string;
  try {
    const { readError } = definitionFromManifest(manifest, 'the migrated manifest');
    if (readError === undefined) return;
    fields = schemaErrors(POLICY_KINDS[manifest.kind as PolicyKind], manifest.spec, 'spec');
    whole = readError;
  } catch (e) {
    fields = isPalisadeError(e) ? e.fields : [];
    whole = errorMessage(e);
  }
  if (fields.length === 0) report('action', undefined, `Palisade will not load it: ${whole}`);
  for (const f of fields) report('action', f.path, `${f.message} (Palisade will not load it)`);
}

/** `record[key]` for own keys only: `constructor` in a manifest is a field, not Object's. */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function keyOf(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

function keysOf(map: YAMLMap): string[] {
  return map.items.map(keyOf);
}

export function text(map: YAMLMap, key: string): string | undefined {
  const value = map.get(key);
  return typeof value === 'string' ? value : undefined;
}

/** Sets a scalar in place, so the comments around it stay. */
export function setText(map: YAMLMap, key: string, value: string): void {
  const node = map.get(key, true);
  if (isScalar(node)) node.value = value;
  else map.set(key, value);
}

/** `.key`, or `["key"]` for keys that are not identifiers: the paths `schemaErrors` prints. */
function segment(key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
