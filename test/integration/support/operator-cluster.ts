import { X509Certificate } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../../../src/operator/crd-install.js';
import { createKubeHttp, hasStatus, type KubeHttp } from '../../../src/shared/kube-http.js';
import type { KubeApiServer } from '../../support/kube.js';

/** Helpers shared by the cluster-mode operator tests (real API server, no pods). */

export const NS = 'palisade-system';
export const GROUP = '/apis/policies.palisade.dev/v1';
export const WEBHOOKS = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
export const LEASE = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/palisade-operator`;

/** Admin access through the operator's own transport; CRDs installed, namespace created. */
export async function prepareCluster(kube: KubeApiServer): Promise<KubeHttp> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kube.kubeconfigPath);
  const api = createKubeHttp(kubeConfig);
  await installCrds(api);
  await api.request('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NS },
  });
  return api;
}

/** Polls `probe` until it answers something other than undefined. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e: unknown) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const why = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`timed out waiting for ${what}${why}`);
}

/** The fields the tests read, of whatever object they read. */
export interface Stored {
  readonly metadata: {
    readonly name: string;
    readonly uid: string;
    readonly generation?: number;
    readonly resourceVersion: string;
    readonly ownerReferences?: readonly {
      readonly apiVersion: string;
      readonly kind: string;
      readonly name: string;
      readonly uid: string;
      readonly controller?: boolean;
    }[];
  };
  readonly spec?: Record<string, unknown> & {
    readonly template?: unknown;
    readonly holderIdentity?: string;
  };
  readonly status?: {
    readonly policyStatus?: string;
    readonly mode?: string;
    readonly loadError?: string;
    readonly conditions?: readonly {
      readonly type: string;
      readonly status: string;
      readonly reason: string;
      readonly message: string;
    }[];
  };
  readonly data?: Record<string, string>;
  readonly webhooks?: readonly { readonly clientConfig: Record<string, unknown> }[];
}

/** The object, or undefined when the API server answers 404. */
export async function find(api: KubeHttp, path: string): Promise<Stored | undefined> {
  try {
    return (await api.request('GET', path)) as unknown as Stored;
  } catch (e: unknown) {
    if (hasStatus(e, 404)) return undefined;
    throw e;
  }
}

/** A CEL ClusterAdmissionPolicy on Deployments: at most `max` replicas. */
export function replicaPolicy(name: string, max: number, policyServer?: string) {
  return {
    apiVersion: 'policies.palisade.dev/v1',
    kind: 'ClusterAdmissionPolicy',
    metadata: { name },
    spec: {
      module: 'builtin://cel',
      mutating: false,
      ...(policyServer !== undefined ? { policyServer } : {}),
      rules: [
        {
          apiGroups: ['apps'],
          apiVersions: ['v1'],
          resources: ['deployments'],
          operations: ['CREATE', 'UPDATE'],
        },
      ],
      settings: {
        variables: [{ name: 'replicas', expression: 'object.spec.replicas' }],
        validations: [
          { expression: `variables.replicas <= ${String(max)}`, message: `at most ${String(max)}` },
        ],
      },
    },
  };
}

/** Read, change, replace: what `kubectl edit` does. */
export async function update(
  api: KubeHttp,
  path: string,
  change: (spec: Record<string, unknown>) => void,
): Promise<void> {
  const current = await api.request('GET', path);
  change(current['spec'] as Record<string, unknown>);
  await api.request('PUT', path, current);
}

/** The parsed `policies.yml` of PolicyServer `name`'s ConfigMap. */
export async function policiesYml(
  api: KubeHttp,
  name: string,
): Promise<Record<string, Record<string, unknown>> | undefined> {
  const cm = await find(api, `/api/v1/namespaces/${NS}/configmaps/policy-server-${name}`);
  const text = cm?.data?.['policies.yml'];
  return text === undefined
    ? undefined
    : (JSON.parse(text) as Record<string, Record<string, unknown>>);
}

/** Certificates of a PEM bundle, in order. */
export function certificates(bundle: string): X509Certificate[] {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  return (blocks ?? []).map((pem) => new X509Certificate(pem));
}

/** A Secret's key, decoded. */
export function secretText(secret: Stored | undefined, key: string): string {
  return Buffer.from(secret?.data?.[key] ?? '', 'base64').toString('utf8');
}
