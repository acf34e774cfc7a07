import { definitionFromManifest } from '../engine/manifest.js';
import type { PolicyDefinition } from '../engine/definition.js';
import type { PolicyLoadState } from '../engine/types.js';
import { isJsonObject, type JsonObject } from '../shared/admission.js';
import { errorMessage } from '../shared/errors.js';
import type { KubeHttp } from '../shared/kube-http.js';
import type { Logger } from '../shared/logger.js';
import { policyStatus, type PolicyStatus } from './status.js';
import {
  LABEL_PART_OF,
  isMutating,
  policyServerOf,
  uniqueName,
  webhookConfiguration,
  type PolicyResource,
  type WebhookContext,
} from './webhooks.js';

/**
 * Where a policy server's policies go: in dev mode the in-process environment, in a cluster
 * the server's ConfigMap. Answers the per-policy load states once the set is applied; a policy
 * missing from the answer has no report yet (its webhook is then left as it is). `resources`
 * are the same policies as `definitions`, in the same order, for sinks that render the
 * resources themselves (the cluster's `policies.yml`).
 */
export interface PolicySink {
  apply(
    definitions: readonly PolicyDefinition[],
    resources: readonly PolicyResource[],
  ): Promise<ReadonlyMap<string, PolicyLoadState>>;
}

export interface PolicyControllerOptions {
  readonly api: KubeHttp;
  readonly logger: Logger;
  readonly webhooks: WebhookContext;
  /**
   * The sink of a policy server by name, or undefined when no such PolicyServer exists (its
   * policies are then `scheduled`: no webhook, nothing served). Dev mode answers one sink
   * for every name.
   */
  readonly sinkFor: (policyServer: string) => PolicySink | undefined;
  readonly fieldManager?: string;
  readonly now?: () => Date;
}

type StoredPolicy = PolicyResource & { readonly status?: JsonObject };

const GROUP_PATH = '/apis/policies.palisade.dev/v1';
const WEBHOOK_PATH = '/apis/admissionregistration.k8s.io/v1';
const PLURALS: Readonly<Record<PolicyResource['kind'], string>> = {
  ClusterAdmissionPolicy: 'clusteradmissionpolicies',
  AdmissionPolicy: 'admissionpolicies',
  ClusterAdmissionPolicyGroup: 'clusteradmissionpolicygroups',
  AdmissionPolicyGroup: 'admissionpolicygroups',
};
const WEBHOOK_KINDS = {
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
} as const;

export function policyPath(policy: PolicyResource): string {
  const ns = policy.metadata.namespace;
  const scope = ns === undefined || ns === '' ? '' : `/namespaces/${encodeURIComponent(ns)}`;
  return `${GROUP_PATH}${scope}/${PLURALS[policy.kind]}/${encodeURIComponent(policy.metadata.name)}`;
}

/** JSON with sorted keys: the API server does not keep our key order, equality must not care. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/**
 * The reconcile of policies: every policy goes to its policy server first; a webhook is
 * registered (or updated) only for a version that serves, so the API server never sends
 * requests to a policy that is not there; then each policy's status says where it stands.
 * Everything is recomputed from the full list each time, so a run is idempotent and also
 * repairs drift (a webhook configuration deleted by hand comes back on the next run).
 */
export class PolicyController {
  readonly #options: PolicyControllerOptions;
  /** The mode of the version that last loaded, per policy: what a kept version enforces. */
  readonly #servingMode = new Map<string, 'protect' | 'monitor'>();

  constructor(options: PolicyControllerOptions) {
    this.#options = options;
  }

  async reconcile(policies: readonly StoredPolicy[]): Promise<void> {
    const { logger } = this.#options;
    const states = new Map<string, PolicyLoadState>();
    const known = new Set<string>();
    // Grouped by sink, not by name: in dev mode every name leads to the one local server.
    const bySink = new Map<PolicySink, StoredPolicy[]>();
    for (const p of policies) {
      const sink = this.#options.sinkFor(policyServerOf(p));
      if (sink !== undefined) bySink.set(sink, [...(bySink.get(sink) ?? []), p]);
    }
    for (const [sink, group] of bySink) {
      const definitions = group.map((p) =>
        definitionFromManifest(p as unknown as JsonObject, `${p.kind}/${uniqueName(p)}`),
      );
      for (const p of group) known.add(uniqueName(p));
      for (const [id, state] of await sink.apply(definitions, group)) states.set(id, state);
    }
    const registered = new Set<string>();
    const keep = new Set<string>();
    for (const policy of policies) {
      const id = uniqueName(policy);
      const state = states.get(id);
      const mode = policy.spec['mode'] === 'monitor' ? 'monitor' : 'protect';
      if (state?.state === 'active') {
        this.#servingMode.set(id, mode);
        try {
          await this.#applyWebhook(policy);
          registered.add(id);
        } catch (e) {
          logger.error({ policy: id, error: errorMessage(e) }, 'cannot register the webhook');
        }
      } else if (state?.servingGeneration !== undefined || (state === undefined && known.has(id))) {
        // The previous version serves, or the policy server has not reported on this version
        // yet (a cluster server loading it, or unreachable): the webhook stays as it was.
        keep.add(id);
      } else {
        this.#servingMode.delete(id);
      }
    }
    const present = await this.#pruneWebhooks(new Set([...registered, ...keep]), policies);
    for (const policy of policies) {
      const id = uniqueName(policy);
      const status = policyStatus(
        policy,
        {
          policyServerKnown: known.has(id),
          load: states.get(id),
          servingMode: this.#servingMode.get(id),
          webhookRegistered: registered.has(id) || (keep.has(id) && present.has(id)),
        },
        (this.#options.now?.() ?? new Date()).toISOString(),
      );
      await this.#writeStatus(policy, status).catch((e: unknown) => {
        logger.warn({ policy: id, error: errorMessage(e) }, 'cannot write the policy status');
      });
    }
  }

  /** Deletes every webhook configuration Palisade made (dev mode, on exit). */
  async removeWebhooks(): Promise<void> {
    await this.#pruneWebhooks(new Set(), []);
  }

  async #applyWebhook(policy: PolicyResource): Promise<void> {
    const config = webhookConfiguration(policy, this.#options.webhooks);
    const kind = isMutating(policy)
      ? 'MutatingWebhookConfiguration'
      : 'ValidatingWebhookConfiguration';
    const plural = WEBHOOK_KINDS[kind];
    const name = uniqueName(policy);
    const manager = encodeURIComponent(this.#options.fieldManager ?? 'palisade-operator');
    await this.#options.api.request(
      'PATCH',
      `${WEBHOOK_PATH}/${plural}/${encodeURIComponent(name)}?fieldManager=${manager}&force=true`,
      config,
      { what: `apply ${kind} ${name}`, contentType: 'application/apply-patch+yaml' },
    );
  }

  /**
   * Deletes Palisade's webhook configurations that no policy wants, including the other kind
   * when a policy switched between mutating and validating. Returns the names left in place.
   */
  async #pruneWebhooks(
    wanted: ReadonlySet<string>,
    policies: readonly PolicyResource[],
  ): Promise<Set<string>> {
    const mutating = new Set(policies.filter(isMutating).map(uniqueName));
    const present = new Set<string>();
    for (const [kind, plural] of Object.entries(WEBHOOK_KINDS)) {
      const list = await this.#options.api.request(
        'GET',
        `${WEBHOOK_PATH}/${plural}?labelSelector=${encodeURIComponent(`${LABEL_PART_OF}=palisade`)}`,
        undefined,
        { what: `list ${kind}` },
      );
      const items = Array.isArray(list['items']) ? list['items'] : [];
      for (const item of items) {
        const meta = isJsonObject(item) ? item['metadata'] : undefined;
        const name = isJsonObject(meta) && typeof meta['name'] === 'string' ? meta['name'] : '';
        const rightKind = (kind === 'MutatingWebhookConfiguration') === mutating.has(name);
        if (wanted.has(name) && rightKind) {
          present.add(name);
          continue;
        }
        await this.#options.api
          .request('DELETE', `${WEBHOOK_PATH}/${plural}/${name}`, undefined, {
            what: `delete ${kind} ${name}`,
          })
          .catch((e: unknown) => {
            this.#options.logger.warn({ webhook: name, error: errorMessage(e) }, 'cannot delete');
          });
      }
    }
    return present;
  }

  async #writeStatus(policy: StoredPolicy, status: PolicyStatus): Promise<void> {
    if (canonical(policy.status ?? {}) === canonical(status)) return;
    await this.#options.api.request(
      'PATCH',
      `${policyPath(policy)}/status`,
      // A merge patch keeps keys it does not name: a cleared load error must be sent as null.
      { status: { loadError: null, ...(status as unknown as JsonObject) } },
      {
        what: `update the status of ${uniqueName(policy)}`,
        contentType: 'application/merge-patch+json',
      },
    );
  }
}
