import type { PolicyDefinition } from '../engine/definition.js';
import { definitionsFromText } from '../engine/sources.js';
import type { PolicyLoadState } from '../engine/types.js';
import {
  startInformer,
  type Informer,
  type InformerCoreOptions,
  type InformerOptions,
} from '../operator/informer.js';
import { isJsonObject, type JsonObject } from '../shared/admission.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { PolicySourceStatus } from './policies-status.js';

/** The ConfigMap key holding the policies, in Kubewarden's `policies.yml` format. */
export const POLICIES_KEY = 'policies.yml';

/** How often a server still waiting for its first policy set says so. */
export const WAIT_LOG_INTERVAL_MS = 10_000;

/** A ConfigMap by namespace and name. */
export interface ConfigMapRef {
  readonly namespace: string;
  readonly name: string;
}

/** Installs a policy set; `ReloadableEnvironment.apply` (serialised and atomic there). */
export type PolicyApplier = (
  definitions: readonly PolicyDefinition[],
) => Promise<ReadonlyMap<string, PolicyLoadState>>;

export interface PoliciesConfigMapOptions {
  readonly configMap: ConfigMapRef;
  readonly logger: Logger;
  readonly apply: PolicyApplier;
  /** Default {@link WAIT_LOG_INTERVAL_MS}. */
  readonly waitLogIntervalMs?: number;
}

/** A running ConfigMap watch feeding an environment. */
export interface PoliciesConfigMap {
  /**
   * Resolves true once a version of the ConfigMap has been applied (the server may listen),
   * false when the watch stops or `signal` aborts first. Until then: no ConfigMap, or none
   * whose `policies.yml` parses.
   */
  firstApplied(signal?: AbortSignal): Promise<boolean>;
  /** For `GET /policies`: the version serving, and why a later one is not. */
  status(): PolicySourceStatus;
  /** Ends the watch and the waiting log; an apply under way completes. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Parses `<namespace>/<name>` (the `--policies-configmap` value). Names follow Kubernetes'
 * DNS-1123 rules, so a typo is refused at start-up rather than watched forever.
 */
export function parseConfigMapRef(value: string): ConfigMapRef {
  const parts = value.split('/');
  const [namespace, name] = parts;
  const label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
  const subdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
  if (
    parts.length !== 2 ||
    namespace === undefined ||
    name === undefined ||
    !label.test(namespace) ||
    !subdomain.test(name)
  ) {
    throw new PalisadeError(
      'config_invalid',
      `"${value}" is not <namespace>/<name> of a ConfigMap (lowercase DNS names)`,
    );
  }
  return { namespace, name };
}

/**
 * Serves the policies of one ConfigMap and follows its changes without a restart: the
 * informer (list+watch, reconnects, relist on 410) delivers each version; its `policies.yml`
 * is read exactly as a policies file would be, and applied to the environment, which swaps
 * only what changed. Needs get/list/watch on that ConfigMap only: every request carries
 * `fieldSelector=metadata.name=<name>`, which is what lets a Role with `resourceNames`
 * authorise list and watch.
 */
export function watchPoliciesConfigMap(
  options: PoliciesConfigMapOptions & { readonly kubeConfig: InformerOptions['kubeConfig'] },
): PoliciesConfigMap {
  const { namespace, name } = options.configMap;
  return followPoliciesConfigMap(options, (core) =>
    startInformer({
      ...core,
      kubeConfig: options.kubeConfig,
      resource: { group: '', version: 'v1', plural: 'configmaps' },
      namespace,
      fieldSelector: `metadata.name=${name}`,
    }),
  );
}

/**
 * {@link watchPoliciesConfigMap} over any informer of that ConfigMap; unit tests pass one
 * that lets them call the handlers.
 *
 * Versions are applied one at a time, and a burst coalesces: while one applies, later
 * versions only replace the pending one, so the newest is applied next and the ones in
 * between never are. A version seen before (a periodic resync, a relist) is not applied
 * again. A version that cannot be read (YAML syntax, a document that is not a policy map,
 * duplicate ids, no `policies.yml`) is not applied: the previous set keeps serving and
 * {@link PoliciesConfigMap.status} says why. A deleted ConfigMap also leaves the last set
 * serving (a policy server without policies would answer 404 to every webhook call).
 * Problems of single entries (an invalid field, a CEL expression that does not compile)
 * do not block the version: the environment reports them per policy.
 */
export function followPoliciesConfigMap(
  options: PoliciesConfigMapOptions,
  start: (core: InformerCoreOptions) => Informer,
): PoliciesConfigMap {
  const follower = new Follower(options);
  const informer = start({ logger: options.logger, handlers: follower.handlers() });
  follower.startWaitLog(informer);
  return {
    firstApplied: (signal) => follower.firstApplied(signal),
    status: () => follower.status(),
    async stop() {
      follower.stop();
      await informer.stop();
      await follower.idle();
    },
  };
}

class Follower {
  readonly #options: PoliciesConfigMapOptions;
  readonly #label: string;
  readonly #log: Logger;
  #pending: JsonObject | undefined;
  #draining: Promise<void> | undefined;
  /** The last version taken from the queue, applied or not. */
  #seenVersion: string | undefined;
  #appliedVersion: string | undefined;
  #error: string | undefined;
  /** Set by a delete, cleared by the next add: the set serving is all that is left of it. */
  #deleted = false;
  #stopped = false;
  #waitLog: NodeJS.Timeout | undefined;
  readonly #waiters = new Set<(applied: boolean) => void>();

  constructor(options: PoliciesConfigMapOptions) {
    this.#options = options;
    this.#label = `${options.configMap.namespace}/${options.configMap.name}`;
    this.#log = options.logger.child({ configMap: this.#label });
  }

  handlers(): InformerCoreOptions['handlers'] {
    return {
      onAdd: (object) => {
        this.#enqueue(object);
      },
      onUpdate: (object) => {
        this.#enqueue(object);
      },
      onDelete: () => {
        this.#onDelete();
      },
      onSynced: () => {
        // The list's add (if any) was delivered just before, and may be applying now.
        if (this.#draining === undefined) this.#logWaiting();
      },
    };
  }

  startWaitLog(informer: Informer): void {
    const interval = this.#options.waitLogIntervalMs ?? WAIT_LOG_INTERVAL_MS;
    this.#waitLog = setInterval(() => {
      if (informer.hasSynced()) this.#logWaiting();
      else this.#log.warn('waiting for the policies ConfigMap: it cannot be read yet');
    }, interval);
  }

  status(): PolicySourceStatus {
    return {
      kind: 'configMap',
      name: this.#label,
      ...(this.#appliedVersion !== undefined ? { resourceVersion: this.#appliedVersion } : {}),
      ...(this.#deleted && this.#appliedVersion !== undefined
        ? {
            error: `ConfigMap ${this.#label} was deleted: resourceVersion ${this.#appliedVersion} keeps serving`,
          }
        : this.#error !== undefined
          ? { error: this.#error }
          : {}),
    };
  }

  firstApplied(signal?: AbortSignal): Promise<boolean> {
    if (this.#appliedVersion !== undefined) return Promise.resolve(true);
    if (this.#stopped || signal?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (applied: boolean): void => {
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', onAbort);
        resolve(applied);
      };
      const onAbort = (): void => {
        done(false);
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves once no apply is under way. */
  async idle(): Promise<void> {
    await this.#draining;
  }

  stop(): void {
    this.#stopped = true;
    this.#clearWaitLog();
    for (const done of [...this.#waiters]) done(false);
  }

  #logWaiting(): void {
    if (this.#appliedVersion !== undefined) return;
    let why = this.#error;
    if (why === undefined && this.#draining !== undefined) {
      why = `resourceVersion ${this.#seenVersion ?? '?'} is loading`;
    }
    why ??= `ConfigMap ${this.#label} does not exist (or is not visible to this identity)`;
    this.#log.warn({ reason: why }, 'waiting for the policies ConfigMap before serving');
  }

  #enqueue(object: JsonObject): void {
    if (this.#stopped) return;
    this.#deleted = false;
    this.#pending = object;
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  async #drain(): Promise<void> {
    for (let next = this.#take(); next !== undefined; next = this.#take()) {
      const version = resourceVersionOf(next);
      if (version !== undefined && version === this.#seenVersion) continue;
      this.#seenVersion = version;
      await this.#applyVersion(next, version ?? '');
    }
  }

  #take(): JsonObject | undefined {
    const next = this.#pending;
    this.#pending = undefined;
    return this.#stopped ? undefined : next;
  }

  async #applyVersion(configMap: JsonObject, version: string): Promise<void> {
    let definitions: PolicyDefinition[];
    try {
      definitions = this.#read(configMap);
    } catch (e: unknown) {
      this.#rejectVersion(version, errorMessage(e));
      return;
    }
    const started = performance.now();
    let states: ReadonlyMap<string, PolicyLoadState>;
    try {
      states = await this.#options.apply(definitions);
    } catch (e: unknown) {
      this.#rejectVersion(version, `applying the policies failed: ${errorMessage(e)}`);
      return;
    }
    const failed = [...states].filter(([, s]) => s.state === 'failed').map(([id]) => id);
    const first = this.#appliedVersion === undefined;
    this.#appliedVersion = version;
    this.#error = undefined;
    this.#log.info(
      {
        resourceVersion: version,
        policies: states.size,
        failed,
        applyMs: Math.round(performance.now() - started),
      },
      first ? 'policies loaded from the ConfigMap' : 'policies reloaded from the ConfigMap',
    );
    if (first) {
      this.#clearWaitLog();
      for (const done of [...this.#waiters]) done(true);
    }
  }

  #read(configMap: JsonObject): PolicyDefinition[] {
    const data = configMap['data'];
    const text = isJsonObject(data) ? data[POLICIES_KEY] : undefined;
    if (typeof text !== 'string') {
      throw new PalisadeError(
        'config_invalid',
        `ConfigMap ${this.#label} has no "${POLICIES_KEY}" key in data`,
      );
    }
    return definitionsFromText(text, `ConfigMap ${this.#label} ${POLICIES_KEY}`);
  }

  #rejectVersion(version: string, reason: string): void {
    this.#error = `resourceVersion ${version} was not applied: ${reason}`;
    this.#log.error(
      { resourceVersion: version, servingResourceVersion: this.#appliedVersion ?? null },
      `policies ConfigMap ${this.#label} not applied, ${
        this.#appliedVersion === undefined
          ? 'nothing serves yet'
          : 'the previous version keeps serving'
      }: ${reason}`,
    );
  }

  #onDelete(): void {
    this.#pending = undefined;
    this.#deleted = true;
    if (this.#appliedVersion === undefined) return;
    this.#log.warn(
      { resourceVersion: this.#appliedVersion },
      'policies ConfigMap deleted: the last policies read keep serving',
    );
  }

  #clearWaitLog(): void {
    clearInterval(this.#waitLog);
    this.#waitLog = undefined;
  }
}

function resourceVersionOf(object: JsonObject): string | undefined {
  const metadata = object['metadata'];
  const version = isJsonObject(metadata) ? metadata['resourceVersion'] : undefined;
  return typeof version === 'string' ? version : undefined;
}
