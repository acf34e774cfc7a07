import { readModuleMetadata } from '../api/metadata.js';
import { parseModule } from '../runtime/wasm/binary.js';
import { PalisadeError } from '../shared/errors.js';
import {
  WASM_CONFIG_MEDIA_TYPE,
  WASM_LAYER_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  buildPolicyManifest,
} from './artifact.js';
import type { RegistryClient } from './client.js';
import { formatImageReference, registryUrl, type ImageReference } from './reference.js';

export interface PushResult {
  /** Digest of the manifest: what a policy pins with `@sha256:…`. */
  readonly digest: string;
  /** `registry://host/repo@sha256:…`, immutable. */
  readonly immutableReference: string;
}

/** A Rego module talks the OPA ABI; without metadata nobody could tell it is not waPC. */
function isRego(bytes: Uint8Array): boolean {
  return parseModule(bytes).imports.some((i) => i.module === 'env' && i.name === 'opa_abort');
}

/**
 * Pushes a module as `kwctl push` does: the module as the one wasm layer, `{}` as the config,
 * the metadata annotations on the manifest. Like kwctl, a module without metadata is refused
 * unless forced (users then lose rules, mutation and context-awareness facts), and a Rego
 * module is refused even then, because its execution mode lives only in the metadata.
 */
export async function pushModule(
  client: RegistryClient,
  bytes: Uint8Array,
  ref: ImageReference,
  options: { readonly force?: boolean; readonly where: string },
): Promise<PushResult> {
  const metadata = readModuleMetadata(bytes, options.where);
  if (metadata === undefined) {
    if (isRego(bytes)) {
      throw new PalisadeError(
        'metadata_invalid',
        `${options.where}: a Rego module cannot be pushed without metadata (its execution mode lives there); run palisade annotate first`,
      );
    }
    if (options.force !== true) {
      throw new PalisadeError(
        'metadata_invalid',
        `${options.where}: the module has no io.kubewarden.metadata section; run palisade annotate first, or push with --force`,
      );
    }
  }
  if (ref.tag === undefined && ref.digest !== undefined) {
    throw new PalisadeError(
      'reference_invalid',
      `${formatImageReference(ref)}: push to a tag; the digest is computed from what is pushed`,
    );
  }
  const config = Buffer.from('{}');
  const configDigest = await client.pushBlob(ref, config);
  const layerDigest = await client.pushBlob(ref, bytes);
  const manifest = buildPolicyManifest(
    { mediaType: WASM_CONFIG_MEDIA_TYPE, digest: configDigest, size: config.length },
    { mediaType: WASM_LAYER_MEDIA_TYPE, digest: layerDigest, size: bytes.length },
    metadata?.annotations ?? {},
  );
  const digest = await client.pushManifest(
    ref,
    ref.tag ?? 'latest',
    manifest,
    OCI_MANIFEST_MEDIA_TYPE,
  );
  return {
    digest,
    immutableReference: registryUrl({
      registry: ref.registry,
      repository: ref.repository,
      digest,
    }),
  };
}
