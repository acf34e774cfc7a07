import { createHash, type KeyObject } from 'node:crypto';
import { PalisadeError } from '../shared/errors.js';
import type { RegistryClient } from './client.js';
import { buildPayload, cosignDockerReference } from './cosign/payload.js';
import {
  buildSignatureImage,
  checkLayerBytes,
  parseSignatureManifest,
  signPayload,
  signatureLayers,
  signatureTag,
} from './cosign/signature.js';
import { parseVerificationConfig, type VerificationConfig } from './cosign/verification-config.js';
import {
  evaluateVerification,
  type CosignSignature,
  type VerificationOutcome,
} from './cosign/verify.js';
import type { ModuleVerifier } from './fetcher.js';
import { formatImageReference, type ImageReference } from './reference.js';

export interface SignResult {
  /** The manifest digest that was signed. */
  readonly digest: string;
  /** `host/repo:sha256-<hex>.sig`, where cosign looks for it. */
  readonly signatureReference: string;
  /** True when this key had already signed this payload; nothing was pushed. */
  readonly duplicate: boolean;
}

/** The signature manifest under the `.sig` tag, or undefined when the artifact is unsigned. */
async function signatureManifest(client: RegistryClient, ref: ImageReference, digest: string) {
  const sigRef: ImageReference = {
    registry: ref.registry,
    repository: ref.repository,
    tag: signatureTag(digest),
  };
  const found = await client.findManifest(sigRef);
  return {
    sigRef,
    manifest: found === undefined ? undefined : parseSignatureManifest(found.body),
  };
}

/**
 * `cosign sign --key`: signs the manifest the reference resolves to and appends the signature
 * to the `sha256-<hex>.sig` image beside it, so cosign, Kubewarden and Palisade all find it.
 * distribution has no referrers API, and cosign's tag layout does not need one.
 */
export async function signImage(
  client: RegistryClient,
  ref: ImageReference,
  key: KeyObject,
  options: {
    readonly annotations?: Readonly<Record<string, string>>;
    readonly publicKey?: KeyObject;
  },
): Promise<SignResult> {
  const { digest } = await client.manifest(ref, ref.digest === undefined ? 'HEAD' : 'GET');
  const payload = buildPayload({
    dockerReference: cosignDockerReference(ref.registry, ref.repository),
    manifestDigest: digest,
    ...(options.annotations !== undefined ? { annotations: options.annotations } : {}),
  });
  const { sigRef, manifest } = await signatureManifest(client, ref, digest);
  const image = buildSignatureImage(manifest, payload, signPayload(payload, key), {
    ...(options.publicKey !== undefined ? { publicKey: options.publicKey } : {}),
  });
  if (!image.duplicate) {
    await client.pushBlob(sigRef, image.config);
    await client.pushBlob(sigRef, image.layer.bytes);
    await client.pushManifest(sigRef, sigRef.tag ?? '', image.manifest, image.manifestMediaType);
  }
  return { digest, signatureReference: formatImageReference(sigRef), duplicate: image.duplicate };
}

/** Every cosign signature of an artifact: payloads fetched and checked against their digests. */
export async function fetchSignatures(
  client: RegistryClient,
  ref: ImageReference,
  digest: string,
): Promise<CosignSignature[]> {
  const { sigRef, manifest } = await signatureManifest(client, ref, digest);
  if (manifest === undefined) return [];
  const out: CosignSignature[] = [];
  for (const layer of signatureLayers(manifest)) {
    const bytes = await client.blob(sigRef, layer.digest, layer.size);
    out.push({ payload: checkLayerBytes(layer, bytes), signature: layer.signature });
  }
  return out;
}

/** Resolves, fetches the signatures and evaluates them; throws `verification_failed` naming the artifact. */
export async function verifyImage(
  client: RegistryClient,
  ref: ImageReference,
  config: VerificationConfig,
  knownDigest?: string,
): Promise<VerificationOutcome & { readonly digest: string }> {
  const digest =
    knownDigest ?? (await client.manifest(ref, ref.digest === undefined ? 'HEAD' : 'GET')).digest;
  const signatures = await fetchSignatures(client, ref, digest);
  try {
    return { ...evaluateVerification(config, signatures, { manifestDigest: digest }), digest };
  } catch (e) {
    if (!(e instanceof PalisadeError)) throw e;
    const found =
      signatures.length === 0 ? 'it has no signatures' : `${signatures.length} signature(s) found`;
    throw new PalisadeError(
      e.code,
      `${formatImageReference({ ...ref, digest })}: ${e.message} (${found})`,
      {
        cause: e,
      },
    );
  }
}

/**
 * The policy server's verifier: a parsed `verification.yml`, identified by the hash of its text
 * so the store can remember which modules passed it (a cached module is trusted offline only
 * when it passed this very config).
 */
export function createVerifier(
  client: RegistryClient,
  text: string,
  where: string,
): ModuleVerifier {
  const config = parseVerificationConfig(text, where);
  // Refused at start-up rather than at the first pull: no keyless entry could ever pass here.
  const entries = [
    ...(config.allOf ?? []).map((r, i) => ({ r, path: `allOf[${i}]` })),
    ...(config.anyOf?.signatures ?? []).map((r, i) => ({ r, path: `anyOf.signatures[${i}]` })),
  ];
  for (const { r, path } of entries) {
    if (r.kind !== 'pubKey') {
      throw new PalisadeError(
        'verification_unsupported',
        `${where}: ${path} (${r.kind}): keyless (Fulcio/Rekor) verification needs the internet and is not supported offline; use pubKey entries`,
      );
    }
  }
  return {
    id: `sha256:${createHash('sha256').update(text).digest('hex')}`,
    async verify(ref, manifestDigest) {
      await verifyImage(client, ref, config, manifestDigest);
    },
  };
}
