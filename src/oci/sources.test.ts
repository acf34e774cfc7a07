import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSources } from './sources.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-sources-'));
  await writeFile(join(dir, 'ca.pem'), PEM);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseSources', () => {
  it('reads Kubewarden sources.yml: insecure hosts and CAs by Data or Path (relative to the file)', async () => {
    const file = join(dir, 'sources.yml');
    const sources = await parseSources(
      `insecure_sources: ["localhost:5000", dev.example]\nsource_authorities:\n  "reg.example:5500":\n    - type: Data\n      data: |\n${PEM.split(
        '\n',
      )
        .map((l) => `        ${l}`)
        .join('\n')}\n    - {type: Path, path: ca.pem}\n`,
      file,
    );
    expect(sources.insecure).toEqual(['localhost:5000', 'dev.example']);
    expect(sources.authorities['reg.example:5500']).toEqual([PEM, PEM]);
    expect(Object.isFrozen(sources)).toBe(true);
  });

  it('accepts the camelCase spelling of the PolicyServer resource', async () => {
    const sources = await parseSources('{"insecureSources": ["a:1"]}', 's.json');
    expect(sources.insecure).toEqual(['a:1']);
  });

  it('names the field that is wrong', async () => {
    await expect(parseSources('insecure_sources: [1]', 's.yml')).rejects.toThrow(
      's.yml: insecure_sources: must be a list of host[:port]',
    );
    await expect(parseSources('insecure: []', 's.yml')).rejects.toThrow(
      's.yml: insecure: unknown field',
    );
    await expect(
      parseSources(
        'source_authorities: {"h": [{type: Path, path: missing.pem}]}',
        join(dir, 's.yml'),
      ),
    ).rejects.toThrow(/source_authorities\["h"\]\[0\]\.path: cannot read .*missing\.pem/);
    await expect(
      parseSources('source_authorities: {"h": [{type: Data, data: nope}]}', 's.yml'),
    ).rejects.toThrow(
      's.yml: source_authorities["h"][0]: must be {type: Path, path: <file>} or {type: Data, data: <PEM>}',
    );
  });
});
