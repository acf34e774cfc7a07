import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import {
  KWCTL_ANNOTATION,
  PALISADE_CLI_ANNOTATION,
  USAGE_ANNOTATION,
  readModuleMetadata,
  type ExecutionMode,
  type PolicyMetadata,
} from '../api/metadata.js';
import {
  parseModule,
  type ExternKind,
  type MemoryLimits,
  type WasmModuleInfo,
} from '../runtime/wasm/binary.js';

export interface InspectedImport {
  readonly module: string;
  readonly name: string;
  readonly kind: ExternKind;
  readonly memory?: MemoryLimits;
}

export interface ModuleInspection {
  readonly size: number;
  readonly sha256: string;
  /** From the metadata when the module has some, else detected from imports and exports. */
  readonly executionMode: ExecutionMode | 'unknown';
  readonly executionModeSource: 'metadata' | 'detected';
  readonly metadata?: PolicyMetadata;
  readonly imports: readonly InspectedImport[];
  readonly exports: readonly { readonly name: string; readonly kind: ExternKind }[];
  readonly customSections: readonly { readonly name: string; readonly size: number }[];
}

/**
 * `palisade inspect`, the equivalent of `kwctl inspect` for a local module: what it is
 * (digest, execution mode), what its metadata says, and what it needs from the host.
 */
export function inspectModule(bytes: Uint8Array, where = 'module'): ModuleInspection {
  const info = parseModule(bytes);
  const metadata = readModuleMetadata(bytes, where);
  return {
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    executionMode: metadata?.executionMode ?? detectExecutionMode(info) ?? 'unknown',
    executionModeSource: metadata ? 'metadata' : 'detected',
    ...(metadata ? { metadata } : {}),
    imports: info.imports.map((i) => ({
      module: i.module,
      name: i.name,
      kind: i.kind,
      ...(i.memory ? { memory: limitsOf(i.memory) } : {}),
    })),
    exports: info.exports.map((e) => ({ name: e.name, kind: e.kind })),
    customSections: info.customSections.map((s) => ({ name: s.name, size: s.bytes.length })),
  };
}

function limitsOf(m: MemoryLimits): MemoryLimits {
  return {
    initial: m.initial,
    ...(m.maximum !== undefined ? { maximum: m.maximum } : {}),
    shared: m.shared,
    memory64: m.memory64,
  };
}

/**
 * The execution mode a module's ABI suggests, for modules nobody annotated: Rego modules
 * export `opa_*` (gatekeeper cannot be told from opa), waPC guests export `__guest_call`,
 * WASI programs export `_start` and import WASI or Kubewarden's `host.call`.
 */
export function detectExecutionMode(info: WasmModuleInfo): ExecutionMode | undefined {
  const exported = new Set(info.exports.map((e) => e.name));
  if ([...exported].some((n) => n.startsWith('opa_'))) return 'opa';
  if (exported.has('__guest_call')) return 'kubewarden-wapc';
  const wasiImports = info.imports.some(
    (i) => i.module.startsWith('wasi') || (i.module === 'host' && i.name === 'call'),
  );
  if (exported.has('_start') && wasiImports) return 'wasi';
  return undefined;
}

const TOP_ANNOTATIONS: readonly [string, string][] = [
  ['title', 'io.kubewarden.policy.title'],
  ['description', 'io.kubewarden.policy.description'],
  ['version', 'io.kubewarden.policy.version'],
  ['author', 'io.kubewarden.policy.author'],
  ['url', 'io.kubewarden.policy.url'],
  ['source', 'io.kubewarden.policy.source'],
  ['license', 'io.kubewarden.policy.license'],
  ['annotated by', PALISADE_CLI_ANNOTATION],
  ['annotated by kwctl', KWCTL_ANNOTATION],
];

/** The text `palisade inspect` prints: kwctl's sections (details, annotations, rules, usage) plus the ABI. */
export function formatInspection(inspection: ModuleInspection): string {
  const out: string[] = [];
  const row = (label: string, value: string) => out.push(`  ${`${label}:`.padEnd(28)}${value}`);
  const m = inspection.metadata;
  out.push('Module');
  row('size', `${inspection.size} bytes`);
  row('sha256', inspection.sha256);
  row('execution mode', `${inspection.executionMode} (${inspection.executionModeSource})`);
  if (m) {
    out.push('', 'Details');
    for (const [label, key] of TOP_ANNOTATIONS) {
      const v = m.annotations?.[key];
      if (v !== undefined) row(label, v);
    }
    row('mutating', String(m.mutating));
    row('background audit', String(m.backgroundAudit));
    row('policy type', m.policyType);
    row('protocol version', m.protocolVersion ?? '(not set)');
    row(
      'context-aware resources',
      list(m.contextAwareResources.map((r) => `${r.apiVersion}/${r.kind}`)),
    );
    row('host capabilities', m.hostCapabilities ? list(m.hostCapabilities) : '(not declared)');
    if (m.minimumKubewardenVersion !== undefined)
      row('minimum Kubewarden version', m.minimumKubewardenVersion);
    const shown = new Set([USAGE_ANNOTATION, ...TOP_ANNOTATIONS.map(([, k]) => k)]);
    const rest = Object.entries(m.annotations ?? {}).filter(([k]) => !shown.has(k));
    if (rest.length > 0) out.push('', 'Annotations', ...rest.map(([k, v]) => `  ${k}: ${v}`));
    out.push('', 'Rules', indent(stringify(m.rules).trimEnd()));
  } else {
    out.push('', 'No io.kubewarden.metadata section: annotate the module to add its metadata.');
  }
  out.push(
    '',
    'Imports',
    ...inspection.imports.map((i) => `  ${i.module}.${i.name} (${kindOf(i)})`),
  );
  out.push('', 'Exports', ...inspection.exports.map((e) => `  ${e.name} (${e.kind})`));
  const usage = m?.annotations?.[USAGE_ANNOTATION];
  if (usage !== undefined) out.push('', 'Usage', indent(usage.trimEnd()));
  return `${out.join('\n')}\n`;
}

function kindOf(i: InspectedImport): string {
  if (!i.memory) return i.kind;
  const { initial, maximum, shared } = i.memory;
  return `memory, ${initial}..${maximum ?? 'unbounded'} pages${shared ? ', shared' : ''}`;
}

function list(items: readonly string[]): string {
  return items.length === 0 ? '(none)' : items.join(', ');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : `  ${l}`))
    .join('\n');
}
