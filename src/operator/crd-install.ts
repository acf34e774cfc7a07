import { CRD_DEFINITIONS } from '../api/crd/definitions.js';
import { buildCrd } from '../api/crd/render.js';
import { isJsonObject, type JsonObject } from '../shared/admission.js';
import { PalisadeError } from '../shared/errors.js';
import { KubernetesRequestError, type KubeRequester } from '../shared/kube-request.js';

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** True when the API server serves Palisade's group (its CRDs are installed and established). */
export async function crdsServed(api: KubeRequester): Promise<boolean> {
  try {
    await api.call('discover policies.palisade.dev/v1', 'GET', '/apis/policies.palisade.dev/v1');
    return true;
  } catch (e) {
    if (e instanceof KubernetesRequestError && e.status === 404) return false;
    throw e;
  }
}

/**
 * Applies the CRDs this build generates (server-side apply, so a newer Palisade updates them
 * in place) and waits until the API server reports each one Established.
 */
export async function installCrds(api: KubeRequester, timeoutMs = 30_000): Promise<void> {
  for (const def of CRD_DEFINITIONS) {
    const crd = buildCrd(def) as unknown as JsonObject;
    const meta = crd['metadata'];
    const name = isJsonObject(meta) && typeof meta['name'] === 'string' ? meta['name'] : '';
    await api.call(
      `apply CRD ${name}`,
      'PATCH',
      `${CRD_PATH}/${name}?fieldManager=palisade&force=true`,
      crd,
      'application/apply-patch+yaml',
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await api.call(`read CRD ${name}`, 'GET', `${CRD_PATH}/${name}`);
      const status = got['status'];
      const conditions =
        isJsonObject(status) && Array.isArray(status['conditions']) ? status['conditions'] : [];
      if (
        conditions.some(
          (c) => isJsonObject(c) && c['type'] === 'Established' && c['status'] === 'True',
        )
      )
        break;
      if (Date.now() > deadline) {
        throw new PalisadeError(
          'kubernetes_request_failed',
          `CRD ${name} was not established within ${timeoutMs} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
