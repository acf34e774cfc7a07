import type { V1ConfigMap } from '@kubernetes/client-node';
import type { PolicyDefinition } from '../engine/definition.js';
import type { PolicyLoadState } from '../engine/types.js';
import type { JsonObject } from '../shared/admission.js';
import { errorMessage } from '../shared/errors.js';
import type { KubeHttp } from '../shared/kube-http.js';
import type { Logger } from '../shared/logger.js';
import type { PolicySink } from './controller.js';
import { applyObject, resourceVersionOf } from './kube-objects.js';
import {
  canonicalJson,
  policiesConfigEntries,
  renderPoliciesConfig,
  type PoliciesConfigOptions,
} from './policies-config.js';
import type { Plain } from './policy-server-resources-spec.js';
import type { PolicyStateReader, PolicyStateReport } from './policy-state-reader.js';
import type { PolicyResource } from './webhooks.js';

/** What a sink needs from its PolicyServer; replaced on every PolicyServer reconcile. */
export interface ClusterSinkTarget {
  /** The PolicyServer's ConfigMap with the given `policies.yml` (policiesConfigMap). */
  readonly configMap: (policiesYaml: string) => Plain<V1ConfigMap>;
  readonly config: PoliciesConfigOptions;
}

export interface ClusterSinkOptions extends ClusterSinkTarget {
  readonly api: KubeHttp;
  readonly logger: Logger;
  /** `httpsStateReader` in a cluster; tests without a pod pass their own. */
  readonly readStates: PolicyStateReader;
}

/** The entry last written for a policy and the ConfigMap version that first carried it. */
interface Written {
  readonly entry: string;
  readonly since: string;
}

/**
 * The cluster's {@link PolicySink} for one PolicyServer. `apply` writes the policies into the
 * server's ConfigMap (server-side apply; unchanged policies change nothing), which the running
 * pods follow without a restart, then asks the server what it serves.
 *
 * A report counts for a policy only when it is about a ConfigMap version that already held
 * the policy's current entry: right after a change the server has not loaded it yet and still
 * reports the previous version as active, which must not make the controller point the
 * webhook at a version that does not serve. Such policies, and all of them while the server
 * cannot be reached, are left out of the answer ("no report yet": status `pending`, webhook
 * left as it is); {@link ClusterPolicySink.awaitingReport} tells the loop to ask again soon.
 */
export class ClusterPolicySink implements PolicySink {
  #target: ClusterSinkTarget;
  readonly #api: KubeHttp;
  readonly #logger: Logger;
  readonly #readStates: PolicyStateReader;
  readonly #written = new Map<string, Written>();
  #waiting = 0;

  constructor(options: ClusterSinkOptions) {
    this.#target = options;
    this.#api = options.api;
    this.#logger = options.logger;
    this.#readStates = options.readStates;
  }

  /** New ConfigMap metadata or capabilities from the PolicyServer; the tracking stays. */
  update(target: ClusterSinkTarget): void {
    this.#target = target;
  }

  /** True when the last apply left policies without a current report. */
  awaitingReport(): boolean {
    return this.#waiting > 0;
  }

  async apply(
    _definitions: readonly PolicyDefinition[],
    resources: readonly PolicyResource[],
  ): Promise<ReadonlyMap<string, PolicyLoadState>> {
    const entries = policiesConfigEntries(resources, this.#target.config);
    this.#waiting = entries.size;
    let version: string | undefined;
    try {
      const stored = await applyObject(
        this.#api,
        this.#target.configMap(renderPoliciesConfig(resources, this.#target.config)),
      );
      version = resourceVersionOf(stored);
    } catch (e: unknown) {
      this.#logger.error({ error: errorMessage(e) }, 'cannot write the policies ConfigMap');
      return new Map();
    }
    if (version === undefined) return new Map();
    this.#track(entries, version);
    const report = await this.#readStates();
    if (report === undefined) return new Map();
    if (report.sourceError !== undefined) {
      this.#logger.warn({ reason: report.sourceError }, 'the policy server keeps an older set');
    }
    const states = new Map<string, PolicyLoadState>();
    for (const id of entries.keys()) {
      const state = report.states.get(id);
      const written = this.#written.get(id);
      if (state !== undefined && written !== undefined && covers(report, written.since)) {
        states.set(id, state);
      }
    }
    this.#waiting = entries.size - states.size;
    return states;
  }

  /**
   * Remembers since which ConfigMap version each entry is what it is. An entry first seen
   * by this process counts from the version just written: after a restart the operator
   * cannot know older history, so it waits for a report at least that recent.
   */
  #track(entries: ReadonlyMap<string, JsonObject>, version: string): void {
    for (const id of this.#written.keys()) if (!entries.has(id)) this.#written.delete(id);
    for (const [id, entry] of entries) {
      const text = canonicalJson(entry);
      if (this.#written.get(id)?.entry !== text)
        this.#written.set(id, { entry: text, since: version });
    }
  }
}

/**
 * Whether a report about ConfigMap version `report.resourceVersion` covers `since`. Versions
 * are compared as numbers when both are (etcd revisions, which Kubernetes documents as
 * comparable for built-in resources since 1.35, KEP-5504), else only equality counts. A server that
 * does not name its version is believed.
 */
export function covers(report: PolicyStateReport, since: string): boolean {
  const rv = report.resourceVersion;
  if (rv === undefined) return true;
  if (/^\d+$/.test(rv) && /^\d+$/.test(since)) return BigInt(rv) >= BigInt(since);
  return rv === since;
}
