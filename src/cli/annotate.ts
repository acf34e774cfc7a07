import { parseDocument } from 'yaml';
import {
  KWCTL_ANNOTATION,
  METADATA_SECTION,
  PALISADE_CLI_ANNOTATION,
  PROTOCOL_VERSIONS,
  USAGE_ANNOTATION,
  checkAnnotatedMetadata,
  metadataError,
  metadataToJson,
  parseMetadata,
  type PolicyMetadata,
  type ProtocolVersion,
} from '../api/metadata.js';
import { parseModule, type WasmModuleInfo } from '../runtime/wasm/binary.js';
import { renameImportModules, setCustomSection } from '../runtime/wasm/edit.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';

export interface AnnotateOptions {
  readonly wasm: Uint8Array;
  readonly metadataYaml: string;
  /** README text, stored as `io.kubewarden.policy.usage` (kwctl annotate `-u`). */
  readonly usageMarkdown?: string;
  /** Names the metadata file in messages. */
  readonly where: string;
  /** Palisade's version, recorded as `io.palisade.cli`. */
  readonly toolVersion?: string;
  /**
   * Asks a waPC module its `protocol_version` (kwctl runs the module for this). Without
   * it, a module that exports `__guest_call` is recorded as `v1`, the only version any
   * Kubewarden SDK answers, unless metadata.yml states a version itself.
   */
  readonly probeProtocolVersion?: (bytes: Uint8Array) => Promise<string>;
}

/** Javy's host-call import; kwctl annotate renames its module so one host serves all WASI policies. */
const JAVY_HOST_MODULE = 'kubewarden:javy/host';

/**
 * `palisade annotate`, the equivalent of `kwctl annotate`: validates metadata.yml, checks
 * the execution mode against the module, fills `protocolVersion`, and writes the
 * `io.kubewarden.metadata` custom section (replacing an older one) so that Kubewarden and
 * Palisade both read it.
 *
 * Kubewarden records the annotating kwctl's version under `io.kubewarden.kwctl`. That key
 * keeps its meaning: Palisade does not write its own version there, and drops a value
 * copied into metadata.yml, because kwctl did not annotate this module. Palisade's version
 * goes under `io.palisade.cli`.
 */
export async function annotateModule(options: AnnotateOptions): Promise<Uint8Array> {
  const info = parseModule(options.wasm);
  const parsed = parseMetadata(readYaml(options.metadataYaml, options.where), options.where);
  const protocolVersion = await protocolVersionOf(parsed, info, options);
  const annotations: Record<string, string> = Object.fromEntries(
    Object.entries(parsed.annotations ?? {}).filter(([k]) => k !== KWCTL_ANNOTATION),
  );
  if (options.toolVersion !== undefined) annotations[PALISADE_CLI_ANNOTATION] = options.toolVersion;
  if (options.usageMarkdown !== undefined) annotations[USAGE_ANNOTATION] = options.usageMarkdown;
  const metadata: PolicyMetadata = { ...parsed, protocolVersion, annotations };
  checkAnnotatedMetadata(metadata, options.where);
  const annotated = setCustomSection(
    options.wasm,
    METADATA_SECTION,
    new TextEncoder().encode(metadataToJson(metadata)),
  );
  return renameImportModules(annotated, (i) =>
    i.kind === 'function' && i.module === JAVY_HOST_MODULE && i.name === 'call'
      ? 'host'
      : undefined,
  );
}

function readYaml(text: string, where: string): unknown {
  const doc = parseDocument(text);
  const problem = doc.errors[0];
  if (problem) {
    const pos = problem.linePos?.[0];
    throw new PalisadeError(
      'metadata_invalid',
      `${pos ? `${where}:${pos.line}:${pos.col}` : where}: ${problem.message.split('\n')[0] ?? ''}`,
    );
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

/** kwctl's backend detection: Rego modules export `opa_*` functions, waPC modules are probed. */
async function protocolVersionOf(
  metadata: PolicyMetadata,
  info: WasmModuleInfo,
  options: AnnotateOptions,
): Promise<ProtocolVersion> {
  const rego = info.exports.some((e) => e.name.startsWith('opa_'));
  const mode = metadata.executionMode;
  if (mode === 'wasi') return 'Unknown';
  if (mode === 'opa' || mode === 'gatekeeper') {
    if (rego) return 'Unknown';
    throw modeError(
      options.where,
      `is ${mode}, but the module was not built from Rego (no opa_* exports)`,
    );
  }
  if (rego) {
    throw modeError(
      options.where,
      'is kubewarden-wapc, but the module was built from Rego: use opa or gatekeeper',
    );
  }
  if (options.probeProtocolVersion) return probe(options.probeProtocolVersion, options);
  if (metadata.protocolVersion !== undefined) return metadata.protocolVersion;
  if (info.exports.some((e) => e.name === '__guest_call')) return 'v1';
  throw modeError(options.where, 'is kubewarden-wapc, but the module does not export __guest_call');
}

async function probe(
  probeProtocolVersion: (bytes: Uint8Array) => Promise<string>,
  options: AnnotateOptions,
): Promise<ProtocolVersion> {
  let answer: string;
  try {
    answer = await probeProtocolVersion(options.wasm);
  } catch (e) {
    throw new PalisadeError(
      'module_invalid',
      `${options.where}: cannot ask the module its protocol_version: ${errorMessage(e)}`,
      { cause: e },
    );
  }
  const known = PROTOCOL_VERSIONS.find((v) => v === answer);
  if (known === undefined) {
    throw metadataError(options.where, [
      {
        path: 'protocolVersion',
        message: `the module answered ${JSON.stringify(answer)}, expected one of ${PROTOCOL_VERSIONS.join(', ')}`,
      },
    ]);
  }
  return known;
}

function modeError(where: string, message: string): PalisadeError {
  return metadataError(where, [{ path: 'executionMode', message }]);
}
