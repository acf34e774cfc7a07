import type { JsonValue } from '../../shared/admission.js';
import type { CallbackRequest } from './callback-request.js';
import {
  defaultRootCertificates,
  isCertificateTrusted,
  type RootCertificates,
} from './crypto-certificate.js';
import { dnsLookupHost, systemResolver, type HostResolver } from './dns.js';
import { KubernetesCapabilities } from './kubernetes.js';
import { OciCapabilities, type OciOptions } from './oci.js';
import type { CallbackHandler, KubernetesPort } from './types.js';

export interface CallbackHandlerOptions {
  /** The cluster, for `kubernetes/*`; without it those calls answer an error. */
  readonly kubernetes?: KubernetesPort;
  /** Clock of the caches and of certificate checks without `not_after` (default `Date.now`). */
  readonly now?: () => number;
  /** Name resolution for `net/v1/dns_lookup_host` (default: the system resolver). */
  readonly resolver?: HostResolver;
  /** Registry access for `oci/v1/*`. */
  readonly oci?: OciOptions;
  /** Trust anchors of `crypto/v1/is_certificate_trusted` without a chain (default: Node's). */
  readonly rootCertificates?: RootCertificates;
}

const encoder = new TextEncoder();

function text(request: CallbackRequest, field: string): string {
  const value = request.fields[field];
  if (typeof value !== 'string') throw new Error(`${request.type}: ${field} must be a string`);
  return value;
}

function stringList(request: CallbackRequest, field: string): string[] {
  const value = request.fields[field];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${request.type}: ${field} must be a list of strings`);
  }
  return value;
}

function stringMap(request: CallbackRequest, field: string): Record<string, string> | undefined {
  const value = request.fields[field];
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${request.type}: ${field} must be a map of strings`);
  }
  return value as Record<string, string>;
}

/**
 * The real handler: one instance per server, so its caches (5 s Kubernetes, 60 s OCI) are shared
 * by every policy, as Kubewarden's process-wide `#[cached]` functions are.
 */
export function createCallbackHandler(options: CallbackHandlerOptions = {}): CallbackHandler {
  const now = options.now ?? Date.now;
  const resolver = options.resolver ?? systemResolver;
  const roots = options.rootCertificates ?? defaultRootCertificates;
  const kubernetes = new KubernetesCapabilities(options.kubernetes, now);
  const oci = new OciCapabilities(options.oci ?? {}, now);

  async function answer(request: CallbackRequest): Promise<JsonValue> {
    switch (request.type) {
      case 'OciManifestDigest':
        return oci.manifestDigest(text(request, 'image'));
      case 'OciManifest':
        return oci.ociManifest(text(request, 'image'));
      case 'OciManifestAndConfig':
        return oci.ociManifestConfig(text(request, 'image'));
      case 'DNSLookupHost':
        return dnsLookupHost(resolver, text(request, 'host'));
      case 'KubernetesListResourceNamespace':
      case 'KubernetesListResourceAll':
        return kubernetes.list(request.fields);
      case 'KubernetesGetResource':
        return kubernetes.get(request.fields);
      case 'KubernetesCanI':
        return kubernetes.canI(request.fields);
      case 'CryptoIsCertificateTrusted':
        return { ...isCertificateTrusted(request.fields['request'] ?? null, now(), roots) };
      case 'SigstorePubKeyVerify':
        return oci.verifyPubKeys(
          text(request, 'image'),
          stringList(request, 'pub_keys'),
          stringMap(request, 'annotations'),
        );
      case 'SigstoreKeylessVerify':
      case 'SigstoreKeylessPrefixVerify':
      case 'SigstoreGithubActionsVerify':
      case 'SigstoreCertificateVerify':
        throw new Error(
          `keyless Sigstore verification (${request.type}) needs Fulcio and Rekor on the internet and is not supported offline; use SigstorePubKeyVerify, or replay a recorded session to test such policies`,
        );
    }
  }

  return {
    async handle(request) {
      return encoder.encode(JSON.stringify(await answer(request)));
    },
  };
}
