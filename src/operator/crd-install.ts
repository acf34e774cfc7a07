import { CRD_DEFINITIONS } from '../api/crd/definitions.js';
import { buildCrd } from '../api/crd/render.js';
import { isJsonObject, type JsonObject } from '../shared/admission.js';
import { PalisadeError } from '../shared/errors.js';
import { KubeApiError, type KubeHttp } from '../shared/kube-http.js';

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** True when the API server serves Palisade's group (its CRDs are installed and established). */
export async function crdsServed(api: KubeHttp): Promise<boolean> {
  try {
    await api.request('GET', '/apis/policies.palisade.dev/v1');
    return true;
  } catch (e) {
    if (e instanceof KubeApiError && e.status === 404) return false;
    throw e;
  }
}

/**
 * Applies the CRDs this build generates (server-side apply, so a newer Palisade updates them
 * in place) and waits until the API server reports each one Established.
 */
export async function installCrds(api: KubeHttp, timeoutMs = 30_000): Promise<void> {
  for (const def of CRD_DEFINITIONS) {
    const crd = buildCrd(def) as unknown as JsonObject;
    const meta = crd['metadata'];
    const name = isJsonObject(meta) && typeof meta['name'] === 'string' ? meta['name'] : '';
    await api.request('PATCH', `${CRD_PATH}/${name}?fieldManager=palisade&force=true`, crd, {
      what: `apply CRD ${name}`,
      contentType: 'application/apply-patch+yaml',
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await api.request('GET', `${CRD_PATH}/${name}`);
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
