import type {
  V1Affinity,
  V1EnvVar,
  V1PodSecurityContext,
  V1SecurityContext,
  V1Toleration,
} from '@kubernetes/client-node';
import { PalisadeError, formatFieldErrors, type FieldError } from '../shared/errors.js';
import { parseQuantity } from './policy-server-resources-quantity.js';

/**
 * A client-node model as the plain JSON it stands for: the generated models are classes
 * (instances carry nothing but fields), and timestamps are strings on the wire. Builders
 * return these, never class instances, because the objects are sent as they are (server-side
 * apply), not through client-node's serializer that drops fields it does not know.
 */
export type Plain<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Plain<U>[]
    : T extends object
      ? { [K in keyof T]: Plain<T[K]> }
      : T;

/**
 * What the PolicyServer builders read from the resource, and the checks they rely on.
 *
 * The interface is local on purpose: it names only the fields the builders use, with the
 * shapes `Static<typeof PolicyServerSpec>` (src/api/policies/policy-server.ts) has, so a
 * resource validated against the CRD schema can be passed as it is (a test checks it).
 */
export interface PolicyServerSpecInput {
  /** Empty or absent: the operator's default image. */
  readonly image?: string;
  readonly replicas: number;
  readonly minAvailable?: number | string;
  readonly maxUnavailable?: number | string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly env?: readonly Plain<V1EnvVar>[];
  readonly serviceAccountName?: string;
  readonly imagePullSecret?: string;
  readonly insecureSources?: readonly string[];
  readonly sourceAuthorities?: Readonly<Record<string, readonly string[]>>;
  readonly verificationConfig?: string;
  readonly securityContexts?: {
    readonly container?: Plain<V1SecurityContext>;
    readonly pod?: Plain<V1PodSecurityContext>;
  };
  readonly affinity?: Plain<V1Affinity>;
  readonly tolerations?: readonly Plain<V1Toleration>[];
  readonly priorityClassName?: string;
  readonly limits?: Readonly<Record<string, string | number>>;
  readonly requests?: Readonly<Record<string, string | number>>;
  readonly webhookPort?: number;
  readonly metricsPort?: number;
}

/** A PolicyServer as read from the API server: name and uid are needed for ownerReferences. */
export interface PolicyServerInput {
  readonly metadata: { readonly name: string; readonly uid: string };
  readonly spec: PolicyServerSpecInput;
}

/** What the operator knows and the PolicyServer does not. */
export interface PolicyServerContext {
  /** The operator's namespace: every generated object lives there. */
  readonly namespace: string;
  /** Used when `spec.image` is empty. */
  readonly defaultImage: string;
  /** PEM of the operator CA, stored as `ca.crt` next to the serving pair. */
  readonly caBundle: string;
  readonly servingCertPem: string;
  readonly servingKeyPem: string;
  /** Added to every object (e.g. the Helm release's labels); ours win on a clash. */
  readonly operatorLabels?: Readonly<Record<string, string>>;
  /** Pull secrets (operator namespace) for the policy server image itself. */
  readonly imagePullSecrets?: readonly string[];
}

export const DEFAULT_WEBHOOK_PORT = 8443;
/** The port webhook configurations call: the Service maps it to the webhook port. */
export const SERVICE_PORT = 443;
/**
 * `policy-server-` plus the name must be a DNS-1035 label (a Service name): 63 - 14 = 49
 * characters, no dots, although the API server accepts longer PolicyServer names with dots.
 */
export const MAX_POLICY_SERVER_NAME = 49;

const LABEL_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PERCENT = /^\d+%$/;

/**
 * Checks what the builders rely on and the API server would either refuse on a generated
 * object (naming that object, not the field the user wrote) or accept wrongly. Collects
 * every problem, then throws one `config_invalid` naming the PolicyServer and field paths.
 */
export function validatePolicyServer(ps: PolicyServerInput): void {
  const errors: FieldError[] = [];
  const add = (path: string, message: string) => errors.push({ path, message });
  const { name, uid } = ps.metadata;
  if (!LABEL_NAME.test(name) || name.length > MAX_POLICY_SERVER_NAME) {
    add(
      'metadata.name',
      `must be at most ${MAX_POLICY_SERVER_NAME} lowercase letters, digits and '-', starting ` +
        'with a letter (it becomes the Service name policy-server-<name>)',
    );
  }
  if (uid === '') add('metadata.uid', 'is empty: read the PolicyServer from the API server');
  checkSpec(ps.spec, add);
  if (errors.length > 0) {
    throw new PalisadeError(
      'config_invalid',
      `PolicyServer ${JSON.stringify(name)} is invalid: ${formatFieldErrors(errors)}`,
      { fields: errors },
    );
  }
}

type Add = (path: string, message: string) => void;

function checkSpec(spec: PolicyServerSpecInput, add: Add): void {
  if (!Number.isInteger(spec.replicas) || spec.replicas < 0) {
    add('spec.replicas', 'must be a whole number, 0 or more');
  }
  checkDisruptionBudget(spec, add);
  for (const field of ['webhookPort', 'metricsPort'] as const) {
    const port = spec[field];
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      add(`spec.${field}`, 'must be a port number (1-65535)');
    }
  }
  if (spec.metricsPort === SERVICE_PORT) {
    add('spec.metricsPort', `must differ from ${SERVICE_PORT}, the Service's webhook port`);
  }
  for (const field of [
    'serviceAccountName',
    'imagePullSecret',
    'verificationConfig',
    'priorityClassName',
  ] as const) {
    const value = spec[field];
    if (value !== undefined && value !== '' && !SUBDOMAIN.test(value)) {
      add(`spec.${field}`, `${JSON.stringify(value)} is not a valid object name`);
    }
  }
  checkEnv(spec.env ?? [], add);
  checkSources(spec, add);
  checkResources(spec, add);
}

function checkDisruptionBudget(spec: PolicyServerSpecInput, add: Add): void {
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
    add(
      'spec.minAvailable',
      'cannot be set together with spec.maxUnavailable: a PodDisruptionBudget takes one',
    );
  }
  for (const field of ['minAvailable', 'maxUnavailable'] as const) {
    const value = spec[field];
    if (value === undefined) continue;
    const ok =
      typeof value === 'number'
        ? Number.isInteger(value) && value >= 0
        : PERCENT.test(value) && Number(value.slice(0, -1)) <= 100;
    if (!ok) add(`spec.${field}`, 'must be a whole number (0 or more) or a percentage like "50%"');
  }
}

/** Duplicate names would make the container's env list unappliable (it is keyed by name). */
function checkEnv(env: readonly Plain<V1EnvVar>[], add: Add): void {
  const seen = new Set<string>();
  for (const [i, v] of env.entries()) {
    if (v.name === '') add(`spec.env[${i}].name`, 'must not be empty');
    else if (seen.has(v.name)) add(`spec.env[${i}].name`, `${v.name} is listed twice`);
    seen.add(v.name);
  }
}

function checkSources(spec: PolicyServerSpecInput, add: Add): void {
  for (const [i, host] of (spec.insecureSources ?? []).entries()) {
    if (host.trim() === '') add(`spec.insecureSources[${i}]`, 'must be a host[:port]');
  }
  for (const [host, pems] of Object.entries(spec.sourceAuthorities ?? {})) {
    const path = `spec.sourceAuthorities[${JSON.stringify(host)}]`;
    if (host.trim() === '') add(path, 'the key must be a host[:port]');
    for (const [i, pem] of pems.entries()) {
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
        add(`${path}[${i}]`, 'must be a PEM certificate');
      }
    }
  }
}

function checkResources(spec: PolicyServerSpecInput, add: Add): void {
  const parsed = (field: 'limits' | 'requests') => {
    const out = new Map<string, number>();
    for (const [resource, quantity] of Object.entries(spec[field] ?? {})) {
      const value = parseQuantity(quantity);
      if (value === undefined || value < 0) {
        add(`spec.${field}.${resource}`, `${String(quantity)} is not a non-negative quantity`);
      } else {
        out.set(resource, value);
      }
    }
    return out;
  };
  const limits = parsed('limits');
  for (const [resource, request] of parsed('requests')) {
    const limit = limits.get(resource);
    if (limit !== undefined && request > limit) {
      add(`spec.requests.${resource}`, `must not exceed spec.limits.${resource}`);
    }
  }
}
