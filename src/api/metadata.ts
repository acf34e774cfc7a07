import { Type, type Static } from '@sinclair/typebox';
import { schemaErrors } from '../shared/schema-errors.js';
import { findCustomSection, parseModule } from '../runtime/wasm/binary.js';
import {
  PalisadeError,
  errorMessage,
  formatFieldErrors,
  type FieldError,
} from '../shared/errors.js';

/**
 * Kubewarden's policy metadata (`metadata.yml`, embedded by `kwctl annotate` as the JSON
 * custom section `io.kubewarden.metadata`), field for field policy-evaluator's
 * `policy_metadata.rs` (kubewarden.md §5.4). Shape errors follow serde (what Kubewarden
 * refuses to deserialize); rule errors follow its `validator` checks, which Kubewarden
 * runs at annotate time only, so reading a module's metadata skips them.
 */

export const METADATA_SECTION = 'io.kubewarden.metadata';
/** The README, set by `annotate -u`. */
export const USAGE_ANNOTATION = 'io.kubewarden.policy.usage';
/** The kwctl version that annotated the module; only kwctl writes it. */
export const KWCTL_ANNOTATION = 'io.kubewarden.kwctl';
/** The Palisade version that annotated the module. */
export const PALISADE_CLI_ANNOTATION = 'io.palisade.cli';
export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT', '*'] as const;
export const EXECUTION_MODES = ['kubewarden-wapc', 'opa', 'gatekeeper', 'wasi'] as const;
export const POLICY_TYPES = ['kubernetes', 'raw'] as const;
export const PROTOCOL_VERSIONS = ['v1', 'Unknown'] as const;

const oneOf = <T extends string>(values: readonly T[]) =>
  Type.Union(values.map((v) => Type.Literal(v)));
const StringList = Type.Array(Type.String());

export const MetadataRule = Type.Object({
  apiGroups: StringList,
  apiVersions: StringList,
  resources: StringList,
  operations: Type.Array(oneOf(OPERATIONS)),
});
export type MetadataRule = Static<typeof MetadataRule>;

export const MetadataContextAwareResource = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
});

/** The document as written: what may be absent is optional, unknown fields are ignored (as serde does). */
export const PolicyMetadataDocument = Type.Object({
  protocolVersion: Type.Optional(oneOf(PROTOCOL_VERSIONS)),
  rules: Type.Array(MetadataRule),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  mutating: Type.Boolean(),
  backgroundAudit: Type.Optional(Type.Boolean()),
  executionMode: Type.Optional(oneOf(EXECUTION_MODES)),
  policyType: Type.Optional(oneOf(POLICY_TYPES)),
  contextAwareResources: Type.Optional(Type.Array(MetadataContextAwareResource)),
  hostCapabilities: Type.Optional(StringList),
  minimumKubewardenVersion: Type.Optional(Type.String()),
});
export type PolicyMetadataDocument = Static<typeof PolicyMetadataDocument>;

export type ExecutionMode = (typeof EXECUTION_MODES)[number];
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number];

/** Metadata with Kubewarden's defaults applied; deeply frozen. */
export interface PolicyMetadata {
  readonly protocolVersion?: ProtocolVersion;
  readonly rules: readonly Readonly<MetadataRule>[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly mutating: boolean;
  readonly backgroundAudit: boolean;
  readonly executionMode: ExecutionMode;
  readonly policyType: (typeof POLICY_TYPES)[number];
  readonly contextAwareResources: readonly { readonly apiVersion: string; readonly kind: string }[];
  readonly hostCapabilities?: readonly string[];
  readonly minimumKubewardenVersion?: string;
}

export interface ParseMetadataOptions {
  /** Run Kubewarden's annotate-time rule checks ("*" alone, resource wildcards...). Default true. */
  readonly validateRules?: boolean;
}

/** Fields that are `Option` in Rust: serde reads `null` (an empty YAML value) as absent. */
const NULLABLE = ['protocolVersion', 'annotations', 'hostCapabilities', 'minimumKubewardenVersion'];

/**
 * Validates a parsed metadata document (from YAML or JSON) and returns it with defaults,
 * frozen. Throws `metadata_invalid` listing every problem as a field path, prefixed by
 * `where` (a file name, or a module and its section).
 */
export function parseMetadata(
  document: unknown,
  where: string,
  options: ParseMetadataOptions = {},
): PolicyMetadata {
  const doc = withoutNulls(document);
  const errors = schemaErrors(PolicyMetadataDocument, doc, '');
  if (errors.length === 0) {
    const typed = doc as PolicyMetadataDocument;
    errors.push(...semverErrors(typed));
    if (options.validateRules !== false) errors.push(...ruleErrors(typed));
  }
  if (errors.length > 0) throw metadataError(where, errors);
  return deepFreeze(withDefaults(doc as PolicyMetadataDocument));
}

/**
 * The metadata a module carries in its first `io.kubewarden.metadata` section, or
 * undefined when it has none (a module nobody annotated). Like Kubewarden at load time,
 * only the shape is checked, not the annotate-time rule checks.
 */
export function readModuleMetadata(
  bytes: Uint8Array,
  where = 'module',
): PolicyMetadata | undefined {
  const section = findCustomSection(parseModule(bytes), METADATA_SECTION);
  if (section === undefined) return undefined;
  const label = `${where}: ${METADATA_SECTION} section`;
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(section));
  } catch (e) {
    throw new PalisadeError('metadata_invalid', `${label} is not JSON: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  return parseMetadata(document, label, { validateRules: false });
}

/**
 * What `kwctl annotate` checks once it has filled `protocolVersion`: present, and `v1`
 * for waPC policies (the protocol_version probe failed otherwise).
 */
export function checkAnnotatedMetadata(metadata: PolicyMetadata, where: string): void {
  if (metadata.protocolVersion === undefined) {
    throw metadataError(where, [{ path: 'protocolVersion', message: 'is required' }]);
  }
  if (metadata.executionMode === 'kubewarden-wapc' && metadata.protocolVersion === 'Unknown') {
    throw metadataError(where, [
      { path: 'protocolVersion', message: 'must be v1 for executionMode kubewarden-wapc' },
    ]);
  }
}

/** JSON as kwctl writes it: serde's field order, absent optionals left out, sets sorted. */
export function metadataToJson(metadata: PolicyMetadata): string {
  const m = metadata;
  return JSON.stringify({
    ...(m.protocolVersion !== undefined ? { protocolVersion: m.protocolVersion } : {}),
    rules: m.rules,
    ...(m.annotations !== undefined ? { annotations: sortedRecord(m.annotations) } : {}),
    mutating: m.mutating,
    backgroundAudit: m.backgroundAudit,
    executionMode: m.executionMode,
    policyType: m.policyType,
    contextAwareResources: m.contextAwareResources,
    ...(m.hostCapabilities !== undefined ? { hostCapabilities: m.hostCapabilities } : {}),
    ...(m.minimumKubewardenVersion !== undefined
      ? { minimumKubewardenVersion: m.minimumKubewardenVersion }
      : {}),
  });
}

export function metadataError(where: string, fields: readonly FieldError[]): PalisadeError {
  return new PalisadeError(
    'metadata_invalid',
    `${where}: invalid policy metadata: ${formatFieldErrors(fields)}`,
    { fields },
  );
}

function withoutNulls(document: unknown): unknown {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return document;
  return Object.fromEntries(
    Object.entries(document).filter(([k, v]) => !(v === null && NULLABLE.includes(k))),
  );
}

function withDefaults(doc: PolicyMetadataDocument): PolicyMetadata {
  return {
    ...(doc.protocolVersion !== undefined ? { protocolVersion: doc.protocolVersion } : {}),
    rules: doc.rules.map((r) => ({
      apiGroups: r.apiGroups,
      apiVersions: r.apiVersions,
      resources: r.resources,
      operations: r.operations,
    })),
    ...(doc.annotations !== undefined ? { annotations: sortedRecord(doc.annotations) } : {}),
    mutating: doc.mutating,
    backgroundAudit: doc.backgroundAudit ?? true,
    executionMode: doc.executionMode ?? 'kubewarden-wapc',
    policyType: doc.policyType ?? 'kubernetes',
    contextAwareResources: sortedUnique(
      (doc.contextAwareResources ?? []).map((r) => ({ apiVersion: r.apiVersion, kind: r.kind })),
      (r) => `${r.apiVersion}\u0000${r.kind}`,
    ),
    ...(doc.hostCapabilities !== undefined
      ? { hostCapabilities: sortedUnique(doc.hostCapabilities, (c) => c) }
      : {}),
    ...(doc.minimumKubewardenVersion !== undefined
      ? { minimumKubewardenVersion: doc.minimumKubewardenVersion }
      : {}),
  };
}

/** Kubewarden keeps these in BTreeSets: sorted, duplicates dropped. */
function sortedUnique<T>(items: readonly T[], key: (item: T) => string): T[] {
  const byKey = new Map(items.map((i) => [key(i), i]));
  return [...byKey.keys()].sort().map((k) => byKey.get(k) as T);
}

function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** semver 2.0.0, as the Rust `semver` crate parses `minimumKubewardenVersion`. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/;

function semverErrors(doc: PolicyMetadataDocument): FieldError[] {
  const v = doc.minimumKubewardenVersion;
  if (v === undefined || SEMVER.test(v)) return [];
  return [
    {
      path: 'minimumKubewardenVersion',
      message: `"${v}" is not a semantic version such as 1.30.0`,
    },
  ];
}

const STAR_ALONE = "no other elements can be defined when '*' is used";

/** Kubewarden's `validator` checks on rules and context-aware resources. */
function ruleErrors(doc: PolicyMetadataDocument): FieldError[] {
  const errors: FieldError[] = [];
  doc.rules.forEach((rule, i) => {
    for (const field of ['apiGroups', 'apiVersions', 'resources', 'operations'] as const) {
      const values: readonly string[] = rule[field];
      const path = `rules[${i}].${field}`;
      if (values.length === 0) errors.push({ path, message: 'must have at least 1 item' });
      else if (field === 'resources') {
        const problem = resourcesProblem(values);
        if (problem !== undefined) errors.push({ path, message: problem });
      } else if (values.includes('*') && values.length > 1) {
        errors.push({ path, message: STAR_ALONE });
      }
    }
  });
  (doc.contextAwareResources ?? []).forEach((r, i) => {
    if (r.apiVersion === '')
      errors.push({ path: `contextAwareResources[${i}].apiVersion`, message: 'must not be empty' });
    if (r.kind === '')
      errors.push({ path: `contextAwareResources[${i}].kind`, message: 'must not be empty' });
  });
  return errors;
}

/** The Kubernetes webhook rule check on resources/subresources wildcards, as Kubewarden transposed it. */
function resourcesProblem(resources: readonly string[]): string | undefined {
  const wildcardSub = new Set<string>(); // "x/*"
  const wildcardRes = new Set<string>(); // "*/x"
  let plain = false;
  for (const resource of resources) {
    if (resource === '') return 'empty resource is not allowed';
    const slash = resource.indexOf('/');
    if (slash < 0) {
      plain = resource !== '*';
      continue;
    }
    const res = resource.slice(0, slash);
    const sub = resource.slice(slash + 1);
    if (wildcardSub.has(res)) return `if '${res}/*' is present, must not specify ${resource}`;
    if (wildcardRes.has(sub)) return `if '*/${sub}' is present, must not specify ${resource}`;
    if (sub === '*') wildcardSub.add(res);
    if (res === '*') wildcardRes.add(sub);
  }
  if (resources.length > 1 && resources.includes('*/*'))
    return "if '*/*' is present, must not specify other resources";
  if (resources.includes('*') && plain)
    return "if '*' is present, must not specify other resources without subresources";
  return undefined;
}
