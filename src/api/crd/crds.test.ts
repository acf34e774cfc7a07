import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CRD_DEFINITIONS } from './definitions.js';
import { CRD_HEADER, generateCrds } from './render.js';

/**
 * crds/ is generated: this fails whenever a schema in src/api changed without regenerating,
 * so the CRDs users install always match what the code validates.
 */

const CRDS_DIR = fileURLToPath(new URL('../../../crds/', import.meta.url));

describe('crds/', () => {
  const files = generateCrds();

  it.each(files.map((f) => [f.fileName, f.content] as const))(
    '%s matches the schemas',
    (fileName, content) => {
      const committed = (() => {
        try {
          return readFileSync(`${CRDS_DIR}${fileName}`, 'utf8');
        } catch {
          return undefined;
        }
      })();
      expect(committed, `crds/${fileName} is missing or out of date: run npm run crds`).toBe(
        content,
      );
    },
  );

  it('holds no CRD the schemas do not define', () => {
    const yaml = readdirSync(CRDS_DIR).filter((f) => f.endsWith('.yaml'));
    expect(yaml.sort(), 'crds/ holds stale files: run npm run crds').toEqual(
      files.map((f) => f.fileName).sort(),
    );
  });

  it('renders one CRD per kind, each with the header and its names', () => {
    expect(files).toHaveLength(5);
    for (const [i, f] of files.entries()) {
      const def = CRD_DEFINITIONS[i]!;
      expect(f.content.startsWith(CRD_HEADER)).toBe(true);
      const crd = parse(f.content) as {
        metadata: { name: string };
        spec: { names: { kind: string; shortNames: string[] }; scope: string };
      };
      expect(crd.metadata.name).toBe(`${def.plural}.policies.palisade.dev`);
      expect(crd.spec.names).toMatchObject({ kind: def.kind, shortNames: def.shortNames });
      expect(crd.spec.scope).toBe(def.scope);
    }
  });

  it('is deterministic', () => {
    expect(generateCrds()).toEqual(files);
  });
});
