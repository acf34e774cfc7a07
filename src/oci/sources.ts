import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { PalisadeError, errorMessage } from '../shared/errors.js';

/** How registries and web servers are reached: Kubewarden's `sources.yml`, validated. */
export interface RegistrySources {
  /** `host[:port]` that may be reached without verified TLS, then over plain HTTP. */
  readonly insecure: readonly string[];
  /** Extra PEM CAs per `host[:port]`, added to the system roots for that host only. */
  readonly authorities: Readonly<Record<string, readonly string[]>>;
}

export const NO_SOURCES: RegistrySources = Object.freeze({
  insecure: Object.freeze([]),
  authorities: Object.freeze({}),
});

function invalid(where: string, message: string): PalisadeError {
  return new PalisadeError('config_invalid', `${where}: ${message}`, {
    fields: [{ path: where, message }],
  });
}

async function authority(entry: unknown, path: string, base: string): Promise<string> {
  if (typeof entry !== 'object' || entry === null) throw invalid(path, 'must be an object');
  const { type, path: file, data } = entry as Record<string, unknown>;
  if (type === 'Data' && typeof data === 'string' && data.includes('-----BEGIN')) return data;
  if (type === 'Path' && typeof file === 'string' && file !== '') {
    const full = resolve(base, file);
    try {
      return await readFile(full, 'utf8');
    } catch (e) {
      throw invalid(`${path}.path`, `cannot read ${full}: ${errorMessage(e)}`);
    }
  }
  throw invalid(path, 'must be {type: Path, path: <file>} or {type: Data, data: <PEM>}');
}

/**
 * Parses `sources.yml` (YAML or JSON) with Kubewarden's keys `insecure_sources` and
 * `source_authorities`, and the camelCase spelling the PolicyServer resource uses. Relative
 * `Path` entries are read relative to the file, once, here: the result is frozen.
 */
export async function parseSources(text: string, file: string): Promise<RegistrySources> {
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (e) {
    throw invalid(file, `not YAML: ${errorMessage(e)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw invalid(file, 'must be a mapping');
  }
  const fields = doc as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (
      !['insecure_sources', 'insecureSources', 'source_authorities', 'sourceAuthorities'].includes(
        key,
      )
    ) {
      throw invalid(`${file}: ${key}`, 'unknown field');
    }
  }
  const insecureRaw = fields['insecure_sources'] ?? fields['insecureSources'] ?? [];
  if (!Array.isArray(insecureRaw) || !insecureRaw.every((h) => typeof h === 'string' && h !== '')) {
    throw invalid(`${file}: insecure_sources`, 'must be a list of host[:port]');
  }
  const authoritiesRaw: unknown = fields['source_authorities'] ?? fields['sourceAuthorities'] ?? {};
  if (typeof authoritiesRaw !== 'object' || authoritiesRaw === null) {
    throw invalid(`${file}: source_authorities`, 'must map host[:port] to a list of CAs');
  }
  const authorities: Record<string, readonly string[]> = {};
  for (const [host, list] of Object.entries(authoritiesRaw as Record<string, unknown>)) {
    const path = `${file}: source_authorities[${JSON.stringify(host)}]`;
    if (!Array.isArray(list)) throw invalid(path, 'must be a list');
    const pems: string[] = [];
    for (const [i, entry] of list.entries()) {
      pems.push(await authority(entry, `${path}[${i}]`, dirname(file)));
    }
    authorities[host] = Object.freeze(pems);
  }
  return Object.freeze({
    insecure: Object.freeze([...(insecureRaw as string[])]),
    authorities: Object.freeze(authorities),
  });
}
