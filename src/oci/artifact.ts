import { PalisadeError } from '../shared/errors.js';

/** Kubewarden's artifact format (policy-fetcher, `kwctl push`): one wasm layer, an empty config. */
export const WASM_LAYER_MEDIA_TYPE = 'application/vnd.wasm.content.layer.v1+wasm';
export const WASM_CONFIG_MEDIA_TYPE = 'application/vnd.wasm.config.v1+json';
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
const MANIFEST_TYPES = new Set([OCI_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE]);

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface PolicyManifest {
  readonly layer: Descriptor;
  readonly annotations: Readonly<Record<string, string>>;
}

function isDescriptor(value: unknown): value is Descriptor {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Record<string, unknown>;
  return (
    typeof d['mediaType'] === 'string' &&
    typeof d['digest'] === 'string' &&
    typeof d['size'] === 'number'
  );
}

/**
 * The wasm layer of a policy manifest. Like Kubewarden, only the wasm layer media type is
 * accepted; an image index, a container image or anything that is not JSON is refused with
 * what was found instead, so "pushed with the wrong tool" is obvious from the error.
 */
export function parsePolicyManifest(
  body: Buffer,
  contentType: string | undefined,
  where: string,
): PolicyManifest {
  const fail = (why: string): never => {
    throw new PalisadeError('artifact_invalid', `${where}: ${why}`);
  };
  let doc: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(body.toString());
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      fail('the manifest is not a JSON object');
    doc = parsed as Record<string, unknown>;
  } catch (e) {
    if (e instanceof PalisadeError) throw e;
    const html = /html/i.test(contentType ?? '') || /^\s*</.test(body.toString('utf8', 0, 64));
    fail(
      html
        ? `the registry answered with an HTML page (content type ${contentType ?? 'none'}), not a manifest: is this an OCI registry?`
        : `the manifest is not JSON (content type ${contentType ?? 'none'})`,
    );
  }
  const mediaType = typeof doc['mediaType'] === 'string' ? doc['mediaType'] : contentType;
  if (Array.isArray(doc['manifests'])) {
    fail(
      `is an image index (${mediaType ?? 'no media type'}), not a policy: policies are single-artifact manifests`,
    );
  }
  if (mediaType === undefined || !MANIFEST_TYPES.has(mediaType.split(';')[0]?.trim() ?? '')) {
    fail(`the manifest has media type ${mediaType ?? 'none'}; expected ${OCI_MANIFEST_MEDIA_TYPE}`);
  }
  const layers: unknown[] = Array.isArray(doc['layers']) ? (doc['layers'] as unknown[]) : [];
  const layer = layers.find((l) => isDescriptor(l) && l.mediaType === WASM_LAYER_MEDIA_TYPE);
  if (!isDescriptor(layer)) {
    const found = layers.map((l) => (isDescriptor(l) ? l.mediaType : 'malformed')).join(', ');
    fail(
      `no layer of media type ${WASM_LAYER_MEDIA_TYPE} (layers: ${found || 'none'}): not a policy module`,
    );
  }
  const raw = doc['annotations'];
  const annotations: Record<string, string> = {};
  if (typeof raw === 'object' && raw !== null) {
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') annotations[k] = v;
  }
  return { layer: layer as Descriptor, annotations };
}

/**
 * The manifest `kwctl push` writes: the metadata annotations, minus multi-line values (which
 * registries and tools mangle), and `io.kubewarden.policy.source` repeated as
 * `org.opencontainers.image.source` so Renovate and registries link the source.
 */
export function buildPolicyManifest(
  config: Descriptor,
  layer: Descriptor,
  metadataAnnotations: Readonly<Record<string, string>>,
): Buffer {
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadataAnnotations))
    if (!v.includes('\n')) annotations[k] = v;
  const source = annotations['io.kubewarden.policy.source'];
  if (source !== undefined) annotations['org.opencontainers.image.source'] ??= source;
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config,
      layers: [layer],
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    }),
  );
}
