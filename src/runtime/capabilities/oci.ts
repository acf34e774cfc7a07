import { isJsonObject, type JsonObject, type JsonValue } from '../../shared/admission.js';
import { TtlCache } from './cache.js';
import { RegistryClient, type RegistryClientOptions } from '../../oci/client.js';
import { verificationConfigFromDocument } from '../../oci/cosign/verification-config.js';
import { parseImageReference, type ImageReference } from '../../oci/reference.js';
import { verifyImage } from '../../oci/signing.js';

/** Kubewarden keeps OCI answers for 60 s (`oci.rs`: registry round trips are slow). */
export const OCI_CACHE_TTL_MS = 60_000;

/** How registries are reached (sources.yml, credentials); the same as for pulling policies. */
export type OciOptions = Pick<RegistryClientOptions, 'sources' | 'credentials' | 'timeoutMs'>;

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

const ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
};

function parseJson(body: Buffer, what: string): JsonObject {
  const value = JSON.parse(body.toString()) as JsonValue;
  if (!isJsonObject(value)) throw new Error(`${what} is not a JSON object`);
  return value;
}

function isIndex(manifest: JsonObject, mediaType: string | undefined): boolean {
  const declared = manifest['mediaType'];
  return (
    INDEX_TYPES.has(typeof declared === 'string' ? declared : (mediaType ?? '')) ||
    Array.isArray(manifest['manifests'])
  );
}

/** The index entry for linux on this machine's architecture, as oci-client's default resolver picks. */
function platformDigest(index: JsonObject): string | undefined {
  const arch = ARCH[process.arch] ?? process.arch;
  const entries = Array.isArray(index['manifests']) ? index['manifests'] : [];
  for (const entry of entries) {
    if (!isJsonObject(entry) || !isJsonObject(entry['platform'])) continue;
    const { os, architecture } = entry['platform'];
    if (os === 'linux' && architecture === arch && typeof entry['digest'] === 'string') {
      return entry['digest'];
    }
  }
  return undefined;
}

/**
 * The `oci/v1/*` capabilities that read a registry: `manifest_digest`, `oci_manifest` and
 * `oci_manifest_config`, each cached by the image text for 60 s (successes only).
 */
export class OciCapabilities {
  readonly #client: RegistryClient;
  readonly #digests: TtlCache<JsonObject>;
  readonly #manifests: TtlCache<JsonObject>;
  readonly #configs: TtlCache<JsonObject>;
  readonly #verified: TtlCache<JsonObject>;

  constructor(options: OciOptions, now: () => number) {
    this.#client = new RegistryClient({ ...options, now });
    this.#digests = new TtlCache(OCI_CACHE_TTL_MS, now);
    this.#manifests = new TtlCache(OCI_CACHE_TTL_MS, now);
    this.#configs = new TtlCache(OCI_CACHE_TTL_MS, now);
    this.#verified = new TtlCache(OCI_CACHE_TTL_MS, now);
  }

  /** `{"digest": "sha256:…"}` of the manifest (or index) the reference names. */
  manifestDigest(image: string): Promise<JsonObject> {
    return this.#digests.get(image, async () => {
      const { digest } = await this.#client.manifest(parseImageReference(image), 'HEAD');
      return { digest };
    });
  }

  /** The manifest or index document, as the registry serves it. */
  ociManifest(image: string): Promise<JsonObject> {
    return this.#manifests.get(image, async () => {
      const { body } = await this.#client.manifest(parseImageReference(image));
      return parseJson(body, 'manifest');
    });
  }

  /** `{manifest, digest, config}` of the image manifest (an index resolves to linux/this arch). */
  ociManifestConfig(image: string): Promise<JsonObject> {
    return this.#configs.get(image, async () => {
      let ref: ImageReference = parseImageReference(image);
      let fetched = await this.#client.manifest(ref);
      let manifest = parseJson(fetched.body, 'manifest');
      if (isIndex(manifest, fetched.mediaType)) {
        const digest = platformDigest(manifest);
        if (digest === undefined) {
          throw new Error(
            `${image} is an image index without an entry for linux/${ARCH[process.arch] ?? process.arch}`,
          );
        }
        ref = { registry: ref.registry, repository: ref.repository, digest };
        fetched = await this.#client.manifest(ref);
        manifest = parseJson(fetched.body, 'manifest');
      }
      const config = manifest['config'];
      if (!isJsonObject(config) || typeof config['digest'] !== 'string') {
        throw new Error(`the manifest of ${image} has no config descriptor`);
      }
      const configJson = parseJson(await this.#client.blob(ref, config['digest']), 'config');
      return { manifest, digest: fetched.digest, config: configJson };
    });
  }

  /**
   * `SigstorePubKeyVerify` (v1 and v2): every key must have signed the image (with the
   * annotations, when given), as sigstore's constraints are all required. Success answers
   * `{is_trusted: true, digest}`; a failure is an error naming what is missing.
   */
  verifyPubKeys(
    image: string,
    pubKeys: readonly string[],
    annotations: Readonly<Record<string, string>> | undefined,
  ): Promise<JsonObject> {
    const key = JSON.stringify([image, pubKeys, annotations ?? null]);
    return this.#verified.get(key, async () => {
      if (pubKeys.length === 0)
        throw new Error('SigstorePubKeyVerify needs at least one public key');
      const config = verificationConfigFromDocument(
        {
          apiVersion: 'v1',
          allOf: pubKeys.map((pem) => ({
            kind: 'pubKey',
            key: pem,
            ...(annotations !== undefined ? { annotations } : {}),
          })),
        },
        'pub_keys',
      );
      const { digest } = await verifyImage(this.#client, parseImageReference(image), config);
      return { is_trusted: true, digest };
    });
  }
}
