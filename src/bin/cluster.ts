import { KubeConfig } from '@kubernetes/client-node';
import { crdsServed, installCrds } from '../operator/crd-install.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import { createKubeHttp, type KubeHttp } from '../shared/kube-http.js';

/**
 * The cluster of the current kubeconfig (or the pod's service account) for `palisade dev` and
 * `palisade operator`, with Palisade's CRDs served: applied first when asked, otherwise a
 * clear error saying how to get them, rather than informers that wait forever on a 404.
 */
export async function connectCluster(
  command: string,
  options: { readonly installCrds: boolean },
): Promise<{ kubeConfig: KubeConfig; api: KubeHttp }> {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
    if (!kubeConfig.getCurrentCluster()) throw new Error('no current cluster');
  } catch (e) {
    throw new PalisadeError(
      'config_invalid',
      `palisade ${command} needs a kubeconfig or a service account: ${errorMessage(e)}`,
    );
  }
  const api = createKubeHttp(kubeConfig);
  if (options.installCrds) await installCrds(api);
  else if (!(await crdsServed(api))) {
    throw new PalisadeError(
      'config_invalid',
      `the cluster does not serve policies.palisade.dev/v1: apply crds/ (kubectl apply -f crds/) or run palisade ${command} --install-crds`,
    );
  }
  return { kubeConfig, api };
}
