import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../shared/logger.js';
import { startInformer, type Informer } from './informer.js';
import { isPolicyResource, type PolicyResource } from './webhooks.js';

const PLURALS = [
  'clusteradmissionpolicies',
  'admissionpolicies',
  'clusteradmissionpolicygroups',
  'admissionpolicygroups',
] as const;

export interface PolicyWatch {
  list(): readonly PolicyResource[];
  stop(): Promise<void>;
}

/**
 * Informers on the four policy kinds. Every change (and each informer's resync) calls
 * `onChange`; the reconcile then reads the whole set from the caches, so it never acts on a
 * half-seen change. Resolves once every cache holds its first list, so the first reconcile
 * cannot mistake "not listed yet" for "deleted" and remove webhooks that are still wanted.
 */
export async function watchPolicies(
  kubeConfig: KubeConfig,
  logger: Logger,
  onChange: () => void,
  options: { readonly resyncPeriodMs?: number } = {},
): Promise<PolicyWatch> {
  const handlers = { onAdd: onChange, onUpdate: onChange, onDelete: onChange };
  const informers: Informer[] = PLURALS.map((plural) =>
    startInformer({
      kubeConfig,
      resource: { group: 'policies.palisade.dev', version: 'v1', plural },
      logger: logger.child({ informer: plural }),
      handlers,
      ...(options.resyncPeriodMs !== undefined ? { resyncPeriodMs: options.resyncPeriodMs } : {}),
    }),
  );
  const synced = await Promise.all(informers.map((i) => i.waitForSync()));
  if (synced.includes(false)) {
    await Promise.all(informers.map((i) => i.stop()));
    throw new Error('the policy informers stopped before their first list');
  }
  return {
    list: () => informers.flatMap((i) => i.list()).filter(isPolicyResource),
    stop: async () => {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
