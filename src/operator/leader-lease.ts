import { isJsonObject, type JsonObject } from '../shared/admission.js';
import { hasStatus, type KubeHttp } from '../shared/kube-http.js';

/**
 * The part of a `coordination.k8s.io/v1` Lease that leader election reads and writes; the
 * field names and meaning are client-go's, so Palisade and Go controllers can share a lease.
 */
export interface LeaseRecord {
  /** Who leads; absent or empty when the lease is free (never taken, or released). */
  readonly holderIdentity?: string;
  /** How long, from the last change a candidate observed, the holder's claim stands. */
  readonly leaseDurationSeconds?: number;
  /** When the current holder took the lease (RFC 3339, microseconds). */
  readonly acquireTime?: string;
  /** The holder's last renewal; candidates watch it change, they never compare it to their clock. */
  readonly renewTime?: string;
  /** How many times the lease changed hands. */
  readonly leaseTransitions?: number;
}

/** A Lease as last read or written: the record plus the resourceVersion a replace must name. */
export interface Lease {
  readonly record: LeaseRecord;
  readonly resourceVersion: string;
  /** The whole object, so a replace keeps labels, annotations and fields this module ignores. */
  readonly object: JsonObject;
}

/**
 * Storage of one lease. Only `get`, `create` and a `replace` guarded by resourceVersion are
 * needed, which is what makes the lock safe: two candidates that read the same version cannot
 * both write it (the second gets 409 Conflict). Errors are {@link KubeApiError}s; 404 from `get`
 * is answered as `undefined`, not thrown.
 */
export interface LeaseStore {
  /** Names the lease in logs (`namespace/name`). */
  readonly description: string;
  get(signal: AbortSignal): Promise<Lease | undefined>;
  create(record: LeaseRecord, signal: AbortSignal): Promise<Lease>;
  replace(previous: Lease, record: LeaseRecord, signal: AbortSignal): Promise<Lease>;
}

/** A {@link LeaseStore} for the Lease `namespace/name` on a real API server. */
export function createLeaseStore(http: KubeHttp, namespace: string, name: string): LeaseStore {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  return {
    description: `${namespace}/${name}`,
    async get(signal) {
      try {
        return toLease(await http.request('GET', path, undefined, { signal }));
      } catch (e: unknown) {
        if (hasStatus(e, 404)) return undefined;
        throw e;
      }
    },
    async create(record, signal) {
      const body: JsonObject = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: specOf(record),
      };
      return toLease(await http.request('POST', collection, body, { signal }));
    },
    async replace(previous, record, signal) {
      const metadata = isJsonObject(previous.object['metadata']) ? previous.object['metadata'] : {};
      const body: JsonObject = {
        ...previous.object,
        metadata: { ...metadata, resourceVersion: previous.resourceVersion },
        spec: specOf(record),
      };
      return toLease(await http.request('PUT', path, body, { signal }));
    },
  };
}

function specOf(record: LeaseRecord): JsonObject {
  const spec: JsonObject = {};
  for (const [key, value] of Object.entries(record)) {
    if (value !== undefined && value !== '') spec[key] = value as string | number;
  }
  return spec;
}

/** Reads a Lease object; fields of the wrong type count as absent, as a hand-edited lease may have. */
export function toLease(object: JsonObject): Lease {
  const metadata = isJsonObject(object['metadata']) ? object['metadata'] : {};
  const spec = isJsonObject(object['spec']) ? object['spec'] : {};
  const text = (k: string) => (typeof spec[k] === 'string' ? spec[k] : undefined);
  const number = (k: string) => (typeof spec[k] === 'number' ? spec[k] : undefined);
  const record: Record<string, string | number> = {};
  const fields = {
    holderIdentity: text('holderIdentity'),
    leaseDurationSeconds: number('leaseDurationSeconds'),
    acquireTime: text('acquireTime'),
    renewTime: text('renewTime'),
    leaseTransitions: number('leaseTransitions'),
  };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) record[k] = v;
  const rv = metadata['resourceVersion'];
  return { record, resourceVersion: typeof rv === 'string' ? rv : '', object };
}

/**
 * Kubernetes `MicroTime`: RFC 3339 with exactly six fractional digits, the layout the API
 * server parses (`2006-01-02T15:04:05.000000Z07:00`); `toISOString()` has three.
 */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Two records are the same observation when every field matches (client-go compares them whole). */
export function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    (a.holderIdentity ?? '') === (b.holderIdentity ?? '') &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}
