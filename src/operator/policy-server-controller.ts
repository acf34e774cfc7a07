import { isJsonObject, type JsonObject } from '../shared/admission.js';
import { errorMessage } from '../shared/errors.js';
import { hasStatus, type KubeHttp } from '../shared/kube-http.js';
import type { Logger } from '../shared/logger.js';
import { ClusterPolicySink, type ClusterSinkTarget } from './cluster-sink.js';
import type { PolicySink } from './controller.js';
import { applyObject, deleteIfOwned } from './kube-objects.js';
import { ensureOperatorCa, type OperatorCa } from './operator-ca.js';
import { issueServingCertificate, rotationReason, type CertificateAndKey } from './pki.js';
import { renderPoliciesConfig, type PoliciesConfigOptions } from './policies-config.js';
import {
  applyOrder,
  policiesConfigMap,
  policyServerDnsNames,
  policyServerObjectName,
  policyServerResources,
  policyServerServiceReference,
  type PolicyServerContext,
  type PolicyServerInput,
} from './policy-server-resources.js';
import {
  POLICY_SERVER_CONDITION_TYPES,
  conditionTypeOf,
  policyServerConditions,
  storedConditions,
  writePolicyServerConditions,
  type PolicyServerConditionType,
  type ReconcileOutcome,
} from './policy-server-status.js';
import { httpsStateReader, type PolicyStateReader } from './policy-state-reader.js';
import { policyServerOf, type PolicyResource } from './webhooks.js';

/** One year, renewed in its last month (a renewal rolls the pods, so not too often). */
export const SERVING_VALIDITY_DAYS = 365;
export const SERVING_RENEW_BEFORE_DAYS = 30;

export interface PolicyServerControllerOptions {
  readonly api: KubeHttp;
  readonly logger: Logger;
  /** The operator namespace: the CA Secret and every generated object live there. */
  readonly namespace: string;
  /** Policy server image for PolicyServers whose `spec.image` is empty. */
  readonly defaultImage: string;
  /**
   * How a PolicyServer's sink learns what its pods serve. Default: HTTPS to its Service
   * (`httpsStateReader`); tests, where no pod ever runs, pass their own.
   */
  readonly stateReader?: (
    ps: PolicyServerInput,
    url: string,
    caBundle: () => string,
  ) => PolicyStateReader;
  readonly operatorLabels?: Readonly<Record<string, string>>;
  readonly now?: () => Date;
}

/** The context without the serving pair: all the ConfigMap needs. */
type BaseContext = Omit<PolicyServerContext, 'servingCertPem' | 'servingKeyPem'>;
const NO_CERT = { servingCertPem: '', servingKeyPem: '' } as const;

/** Records a failure under each condition type that has none yet (the first error wins). */
type Fail = (types: readonly PolicyServerConditionType[], error: string) => void;

/** A PolicyServer whose spec cannot be rendered: nothing is served, nothing reported. */
const UNSERVED: PolicySink = { apply: () => Promise.resolve(new Map()) };

/**
 * The reconcile of PolicyServers: the operator CA, then per PolicyServer its serving
 * certificate (kept until `rotationReason` says otherwise, because a new one rolls the pods)
 * and every object `policyServerResources` generates, server-side applied in `applyOrder`,
 * with `unwanted` ones deleted; then the PolicyServer's status conditions. The ConfigMap
 * carries the `policies.yml` of the PolicyServer's policies, the same text its sink writes,
 * so the two writes never fight.
 *
 * Every generated object has the PolicyServer as controller owner: deleting the PolicyServer
 * lets the garbage collector remove them, and {@link PolicyServerController.sinkFor} stops
 * answering for it, so the policy controller marks its policies `scheduled` and removes their
 * webhooks. Objects of a deleted PolicyServer are not deleted here (the garbage collector does).
 */
export class PolicyServerController {
  readonly #options: PolicyServerControllerOptions;
  readonly #sinks = new Map<string, { uid: string; sink: PolicySink }>();
  /** PolicyServers with policies: a sink nobody applies to has nothing left to wait for. */
  #withPolicies = new Set<string>();
  #ca: OperatorCa | undefined;

  constructor(options: PolicyServerControllerOptions) {
    this.#options = options;
  }

  /** The webhooks' caBundle: current CA plus, during a rotation, the previous one. */
  caBundle(): string {
    return this.#ca?.bundle ?? '';
  }

  /** The sink of a PolicyServer that exists and is not being deleted. */
  sinkFor(name: string): PolicySink | undefined {
    return this.#sinks.get(name)?.sink;
  }

  /** Some policy server has not reported on the version it was given: ask again soon. */
  awaitingReport(): boolean {
    return [...this.#sinks].some(
      ([name, { sink }]) =>
        this.#withPolicies.has(name) && sink instanceof ClusterPolicySink && sink.awaitingReport(),
    );
  }

  async reconcile(
    policyServers: readonly JsonObject[],
    policies: readonly PolicyResource[],
  ): Promise<void> {
    const now = this.#options.now?.() ?? new Date();
    let caError: string | undefined;
    try {
      this.#ca = await ensureOperatorCa({ ...this.#options, now });
    } catch (e: unknown) {
      caError = errorMessage(e);
      this.#options.logger.error({ error: caError }, 'cannot reconcile the operator CA');
    }
    const live = new Set<string>();
    this.#withPolicies = new Set(policies.map(policyServerOf));
    for (const object of policyServers) {
      const ps = inputOf(object);
      if (ps === undefined || isDeleting(object)) continue;
      live.add(ps.metadata.name);
      const mine = policies.filter((p) => policyServerOf(p) === ps.metadata.name);
      await this.#reconcileOne(object, ps, mine, now, caError);
    }
    for (const name of [...this.#sinks.keys()]) if (!live.has(name)) this.#sinks.delete(name);
  }

  async #reconcileOne(
    object: JsonObject,
    ps: PolicyServerInput,
    policies: readonly PolicyResource[],
    now: Date,
    caError: string | undefined,
  ): Promise<void> {
    const log = this.#options.logger.child({ policyServer: ps.metadata.name });
    const outcome: ReconcileOutcome = new Map([['CARootSecretReconciled', caError]]);
    const fail: Fail = (types, error) => {
      for (const t of types) if (outcome.get(t) === undefined) outcome.set(t, error);
    };
    const config = configOptions(object);
    const base = this.#context(this.#ca?.bundle ?? '');
    const target = this.#sinkTarget(ps, base, config);
    if (typeof target === 'string') {
      // Nothing can be written for it; its policies stay pending with their webhooks as they are.
      this.#sinks.set(ps.metadata.name, { uid: ps.metadata.uid, sink: UNSERVED });
      fail(POLICY_SERVER_CONDITION_TYPES.slice(1), target);
    } else {
      this.#ensureSink(ps, target, log);
      await this.#applyObjects(ps, policies, { base, config, now, fail, log });
    }
    for (const [type, error] of outcome) {
      if (error !== undefined) log.warn({ condition: type, error }, 'PolicyServer not reconciled');
    }
    const conditions = policyServerConditions(
      outcome,
      storedConditions(object),
      now.toISOString(),
      generationOf(object),
    );
    await writePolicyServerConditions(this.#options.api, object, conditions).catch((e: unknown) => {
      log.warn({ error: errorMessage(e) }, 'cannot write the PolicyServer status');
    });
  }

  /** The serving certificate, then every generated object, then the unwanted ones deleted. */
  async #applyObjects(
    ps: PolicyServerInput,
    policies: readonly PolicyResource[],
    step: {
      readonly base: BaseContext;
      readonly config: PoliciesConfigOptions;
      readonly now: Date;
      readonly fail: Fail;
      readonly log: Logger;
    },
  ): Promise<void> {
    const { api } = this.#options;
    const ca = this.#ca;
    if (ca === undefined) {
      step.fail(['CertSecretReconciled', 'DeploymentReconciled'], 'the operator CA is missing');
      return;
    }
    let serving: CertificateAndKey;
    try {
      serving = await this.#servingCertificate(ps, ca, step.now, step.log);
    } catch (e: unknown) {
      step.fail(['CertSecretReconciled', 'DeploymentReconciled'], errorMessage(e));
      return;
    }
    const ctx = { ...step.base, servingCertPem: serving.certPem, servingKeyPem: serving.keyPem };
    const resources = policyServerResources(ps, ctx, renderPoliciesConfig(policies, step.config));
    for (const o of applyOrder(resources)) {
      await applyObject(api, o).catch((e: unknown) => {
        step.fail([conditionTypeOf(o.kind)], errorMessage(e));
      });
    }
    for (const ref of resources.unwanted) {
      await deleteIfOwned(api, ref, ps.metadata.uid).catch((e: unknown) => {
        step.fail([conditionTypeOf(ref.kind)], errorMessage(e));
      });
    }
  }

  #context(caBundle: string): BaseContext {
    const { namespace, defaultImage, operatorLabels } = this.#options;
    return { namespace, defaultImage, caBundle, ...(operatorLabels ? { operatorLabels } : {}) };
  }

  /** The sink's view of the PolicyServer, or why its spec cannot be rendered. */
  #sinkTarget(
    ps: PolicyServerInput,
    base: BaseContext,
    config: PoliciesConfigOptions,
  ): ClusterSinkTarget | string {
    const ctx = { ...base, ...NO_CERT };
    try {
      policiesConfigMap(ps, ctx, '');
    } catch (e: unknown) {
      return errorMessage(e);
    }
    return { configMap: (yaml) => policiesConfigMap(ps, ctx, yaml), config };
  }

  #ensureSink(ps: PolicyServerInput, target: ClusterSinkTarget, log: Logger): void {
    const known = this.#sinks.get(ps.metadata.name);
    if (known?.uid === ps.metadata.uid && known.sink instanceof ClusterPolicySink) {
      known.sink.update(target);
      return;
    }
    const service = policyServerServiceReference(ps, this.#options.namespace);
    const url = `https://${service.name}.${service.namespace}.svc:${String(service.port)}/policies`;
    const caBundle = () => this.caBundle();
    const readStates =
      this.#options.stateReader?.(ps, url, caBundle) ??
      httpsStateReader({ url, caBundle, logger: log });
    const sink = new ClusterPolicySink({
      ...target,
      api: this.#options.api,
      logger: log,
      readStates,
    });
    this.#sinks.set(ps.metadata.name, { uid: ps.metadata.uid, sink });
  }

  /** The stored serving pair while it is fit for use, else a new one from the current CA. */
  async #servingCertificate(
    ps: PolicyServerInput,
    ca: OperatorCa,
    now: Date,
    log: Logger,
  ): Promise<CertificateAndKey> {
    const { api, namespace } = this.#options;
    const name = policyServerObjectName(ps.metadata.name);
    const dnsNames = policyServerDnsNames(ps, namespace);
    let stored: JsonObject | undefined;
    try {
      stored = await api.request(
        'GET',
        `/api/v1/namespaces/${namespace}/secrets/${name}`,
        undefined,
        {
          what: `read Secret ${namespace}/${name}`,
        },
      );
    } catch (e: unknown) {
      if (!hasStatus(e, 404)) throw e;
    }
    const data = stored !== undefined && isJsonObject(stored['data']) ? stored['data'] : {};
    const pem = (key: string) =>
      typeof data[key] === 'string' ? Buffer.from(data[key], 'base64').toString('utf8') : undefined;
    const certPem = pem('tls.crt');
    const keyPem = pem('tls.key');
    if (certPem !== undefined && keyPem !== undefined) {
      const reason = rotationReason(certPem, now, {
        renewBeforeDays: SERVING_RENEW_BEFORE_DAYS,
        caCertPem: ca.current.certPem,
        dnsNames,
        keyPem,
      });
      if (reason === undefined) return { certPem, keyPem };
      log.info({ reason }, 'issuing a new serving certificate');
    }
    return issueServingCertificate(ca.current, {
      dnsNames,
      validityDays: SERVING_VALIDITY_DAYS,
      now,
    });
  }
}

function inputOf(object: JsonObject): PolicyServerInput | undefined {
  const meta = object['metadata'];
  const spec = object['spec'];
  if (!isJsonObject(meta) || !isJsonObject(spec)) return undefined;
  const { name, uid } = meta;
  if (typeof name !== 'string' || typeof uid !== 'string') return undefined;
  // The API server validated the spec against the CRD schema (PolicyServerSpec).
  return { metadata: { name, uid }, spec: spec as unknown as PolicyServerInput['spec'] };
}

function configOptions(object: JsonObject): PoliciesConfigOptions {
  const spec = isJsonObject(object['spec']) ? object['spec'] : {};
  const caps = spec['namespacedPoliciesCapabilities'];
  return Array.isArray(caps)
    ? { namespacedPoliciesCapabilities: caps.filter((c) => typeof c === 'string') }
    : {};
}

function isDeleting(object: JsonObject): boolean {
  const meta = object['metadata'];
  return isJsonObject(meta) && typeof meta['deletionTimestamp'] === 'string';
}

function generationOf(object: JsonObject): number | undefined {
  const meta = object['metadata'];
  return isJsonObject(meta) && typeof meta['generation'] === 'number'
    ? meta['generation']
    : undefined;
}
