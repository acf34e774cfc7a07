import { isJsonObject, type JsonObject } from '../shared/admission.js';
import { PalisadeError } from '../shared/errors.js';
import { hasStatus, type KubeHttp } from '../shared/kube-http.js';
import { FIELD_MANAGER } from './policy-server-resources-meta.js';

/**
 * Writing the namespaced objects the operator generates: server-side apply under one field
 * manager (a field it stops sending is removed by the API server, and a no-op apply changes
 * nothing, not even the resourceVersion), and deletion that only ever removes our own objects.
 */

/** An object as generated: enough to know where it goes. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
}

/** Plurals of the kinds the operator writes (the API's path segment for each). */
const PLURALS: Readonly<Record<string, string>> = {
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Secret: 'secrets',
  ConfigMap: 'configmaps',
  Service: 'services',
  PodDisruptionBudget: 'poddisruptionbudgets',
  Deployment: 'deployments',
};

/** `/api/v1/namespaces/ns/configmaps/name` and the like; throws for a kind not listed above. */
export function objectPath(o: KubeObject): string {
  const apiVersion = o.apiVersion ?? '';
  const kind = o.kind ?? '';
  const plural = PLURALS[kind];
  const name = o.metadata?.name ?? '';
  const namespace = o.metadata?.namespace ?? '';
  if (plural === undefined || name === '' || namespace === '' || apiVersion === '') {
    throw new PalisadeError(
      'config_invalid',
      `cannot address ${apiVersion} ${kind} ${namespace}/${name}: not a namespaced kind the operator writes`,
    );
  }
  const base = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}`;
}

/** Server-side apply as `palisade-operator`, taking over conflicting fields; the stored object. */
export async function applyObject(api: KubeHttp, o: KubeObject): Promise<JsonObject> {
  const what = `apply ${o.kind ?? '?'} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  return api.request(
    'PATCH',
    `${objectPath(o)}?fieldManager=${FIELD_MANAGER}&force=true`,
    o as JsonObject,
    { what, contentType: 'application/apply-patch+yaml' },
  );
}

/** Where an object to delete is: `policyServerResources`' `unwanted` entries. */
export interface ObjectLocation {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/**
 * Deletes the object when its controller owner is `ownerUid`, and answers whether it did. A
 * same-named object of the user's (say the ServiceAccount `spec.serviceAccountName` names) is
 * left alone; the delete is conditional on the uid that was read, so a replacement created in
 * between survives too.
 */
export async function deleteIfOwned(
  api: KubeHttp,
  ref: ObjectLocation,
  ownerUid: string,
): Promise<boolean> {
  const { apiVersion, kind, namespace, name } = ref;
  const path = objectPath({ apiVersion, kind, metadata: { name, namespace } });
  let current: JsonObject;
  try {
    current = await api.request('GET', path, undefined, { what: `read ${kind} ${name}` });
  } catch (e: unknown) {
    if (hasStatus(e, 404)) return false;
    throw e;
  }
  const meta = isJsonObject(current['metadata']) ? current['metadata'] : {};
  const owners = Array.isArray(meta['ownerReferences']) ? meta['ownerReferences'] : [];
  const ours = owners.some(
    (o) => isJsonObject(o) && o['controller'] === true && o['uid'] === ownerUid,
  );
  if (!ours || typeof meta['uid'] !== 'string') return false;
  try {
    await api.request(
      'DELETE',
      path,
      { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: meta['uid'] } },
      { what: `delete ${kind} ${namespace}/${name}` },
    );
    return true;
  } catch (e: unknown) {
    if (hasStatus(e, 404) || hasStatus(e, 409)) return false;
    throw e;
  }
}

/** `metadata.resourceVersion` of a stored object, when it has one. */
export function resourceVersionOf(o: JsonObject): string | undefined {
  const meta = o['metadata'];
  return isJsonObject(meta) && typeof meta['resourceVersion'] === 'string'
    ? meta['resourceVersion']
    : undefined;
}
