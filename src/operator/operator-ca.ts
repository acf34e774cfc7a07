import { isJsonObject, type JsonObject } from '../shared/admission.js';
import { hasStatus, type KubeHttp } from '../shared/kube-http.js';
import type { Logger } from '../shared/logger.js';
import {
  certificateExpiry,
  createCertificateAuthority,
  rotationReason,
  type CertificateAndKey,
} from './pki.js';
import { FIELD_MANAGER } from './policy-server-resources-meta.js';

/**
 * The operator CA, kept in the Secret `palisade-ca` of the operator namespace: created once,
 * kept across restarts and leaders (every webhook's caBundle and every serving certificate
 * depend on it), replaced when `rotationReason` says so. On rotation the old certificate
 * stays in the Secret as `previous-ca.crt` until it expires, and the bundle carries both:
 * pods still serving a certificate of the old CA stay trusted while the Deployments roll to
 * certificates of the new one.
 */

export const CA_SECRET_NAME = 'palisade-ca';
const CERT_KEY = 'ca.crt';
const KEY_KEY = 'ca.key';
const PREVIOUS_KEY = 'previous-ca.crt';

/** Ten years, renewed in its last year: rotations are rare and never urgent. */
export const CA_VALIDITY_DAYS = 3650;
export const CA_RENEW_BEFORE_DAYS = 365;

export interface OperatorCa {
  readonly current: CertificateAndKey;
  /** PEM: the current CA, then the previous one while it is valid. The webhooks' caBundle. */
  readonly bundle: string;
}

export interface OperatorCaOptions {
  readonly api: KubeHttp;
  readonly namespace: string;
  readonly logger: Logger;
  readonly now: Date;
  readonly validityDays?: number;
  readonly renewBeforeDays?: number;
}

interface Stored {
  readonly current?: CertificateAndKey;
  readonly previous?: string;
  readonly resourceVersion: string;
}

/**
 * Reads the CA Secret, creating or rotating it when needed. Writes are guarded (create, or
 * replace naming the resourceVersion read), so two operators racing never both win: the
 * loser reads what the winner wrote.
 */
export async function ensureOperatorCa(options: OperatorCaOptions): Promise<OperatorCa> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await reconcileCa(options);
    } catch (e: unknown) {
      if (attempt < 2 && hasStatus(e, 409)) continue;
      throw e;
    }
  }
}

async function reconcileCa(options: OperatorCaOptions): Promise<OperatorCa> {
  const { api, namespace, logger, now } = options;
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const stored = await read(api, `${path}/${CA_SECRET_NAME}`);
  if (stored === undefined) {
    const current = await newCa(options);
    await api.request('POST', `${path}?fieldManager=${FIELD_MANAGER}`, secret(namespace, current), {
      what: `create Secret ${namespace}/${CA_SECRET_NAME}`,
    });
    logger.info({ secret: `${namespace}/${CA_SECRET_NAME}` }, 'created the operator CA');
    return { current, bundle: current.certPem };
  }
  const reason =
    stored.current === undefined
      ? 'the Secret has no readable ca.crt and ca.key'
      : rotationReason(stored.current.certPem, now, {
          renewBeforeDays: options.renewBeforeDays ?? CA_RENEW_BEFORE_DAYS,
          keyPem: stored.current.keyPem,
        });
  let current = stored.current;
  let previous = stillValid(stored.previous, now);
  if (reason !== undefined || current === undefined) {
    logger.warn({ reason }, 'rotating the operator CA');
    previous = stillValid(stored.current?.certPem, now);
    current = await newCa(options);
  }
  if (current !== stored.current || previous !== stored.previous) {
    const body = secret(namespace, current, previous);
    (body['metadata'] as JsonObject)['resourceVersion'] = stored.resourceVersion;
    await api.request('PUT', `${path}/${CA_SECRET_NAME}?fieldManager=${FIELD_MANAGER}`, body, {
      what: `update Secret ${namespace}/${CA_SECRET_NAME}`,
    });
  }
  return { current, bundle: joinPem(current.certPem, previous) };
}

async function read(api: KubeHttp, path: string): Promise<Stored | undefined> {
  let got: JsonObject;
  try {
    got = await api.request('GET', path, undefined, { what: `read Secret ${CA_SECRET_NAME}` });
  } catch (e: unknown) {
    if (hasStatus(e, 404)) return undefined;
    throw e;
  }
  const data = isJsonObject(got['data']) ? got['data'] : {};
  const text = (key: string) => {
    const value = data[key];
    return typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : undefined;
  };
  const meta = isJsonObject(got['metadata']) ? got['metadata'] : {};
  const certPem = text(CERT_KEY);
  const keyPem = text(KEY_KEY);
  const previous = text(PREVIOUS_KEY);
  return {
    ...(certPem !== undefined && keyPem !== undefined ? { current: { certPem, keyPem } } : {}),
    ...(previous !== undefined ? { previous } : {}),
    resourceVersion: typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : '',
  };
}

function newCa(options: OperatorCaOptions): Promise<CertificateAndKey> {
  return createCertificateAuthority({
    commonName: 'palisade-operator-ca',
    validityDays: options.validityDays ?? CA_VALIDITY_DAYS,
    now: options.now,
  });
}

/** The certificate when it can be read and has not expired; a bundle never carries dead CAs. */
function stillValid(certPem: string | undefined, now: Date): string | undefined {
  if (certPem === undefined) return undefined;
  try {
    return certificateExpiry(certPem) > now ? certPem : undefined;
  } catch {
    return undefined;
  }
}

function joinPem(current: string, previous: string | undefined): string {
  if (previous === undefined) return current;
  return `${current.trimEnd()}\n${previous.trimEnd()}\n`;
}

function secret(namespace: string, ca: CertificateAndKey, previous?: string): JsonObject {
  const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: CA_SECRET_NAME,
      namespace,
      labels: {
        'app.kubernetes.io/part-of': 'palisade',
        'app.kubernetes.io/managed-by': FIELD_MANAGER,
      },
    },
    type: 'Opaque',
    data: {
      [CERT_KEY]: b64(ca.certPem),
      [KEY_KEY]: b64(ca.keyPem),
      ...(previous !== undefined ? { [PREVIOUS_KEY]: b64(previous) } : {}),
    },
  };
}
