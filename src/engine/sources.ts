import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isJsonObject, type JsonValue } from '../shared/admission.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { PolicyDefinition } from './definition.js';
import { definitionFromManifest, isManifest } from './manifest.js';
import { definitionsFromPoliciesFile } from './policies-file.js';

/**
 * Reads policies from a `policies.yml` (Kubewarden's policy-server format), a manifest file
 * (one or more documents of the four policy kinds), or a folder searched recursively for
 * manifests. Documents that are not policy manifests (test suites, other resources) are
 * ignored in folders, so `policies/` can hold suites beside the policies.
 */
export async function readPolicySources(path: string): Promise<PolicyDefinition[]> {
  const info = await stat(path).catch((e: unknown) => {
    throw new PalisadeError('file_unreadable', `cannot read ${path}: ${errorMessage(e)}`, {
      cause: e,
    });
  });
  if (info.isDirectory()) {
    const files = await yamlFiles(path);
    const lists = await Promise.all(
      files.map((f) => readFileDefinitions(f, relative(process.cwd(), f), true)),
    );
    return checkUnique(lists.flat());
  }
  return checkUnique(await readFileDefinitions(path, path, false));
}

/** Parses documents already in memory (inline manifests in test suites, API payloads). */
export function definitionsFromDocuments(
  docs: readonly JsonValue[],
  source: string,
): PolicyDefinition[] {
  const out: PolicyDefinition[] = [];
  docs.forEach((doc, index) => {
    const where = docs.length > 1 ? `${source} (document ${index + 1})` : source;
    if (isManifest(doc)) out.push(definitionFromManifest(doc, where));
    else if (isJsonObject(doc)) out.push(...definitionsFromPoliciesFile(doc, where));
    else if (doc !== null) {
      throw new PalisadeError(
        'manifest_invalid',
        `${where}: expected a policy manifest or a policies.yml map`,
      );
    }
  });
  return out;
}

/**
 * Reads a `policies.yml` (or manifests) held in memory, such as a ConfigMap key, exactly as
 * {@link readPolicySources} reads the same text from a file: YAML or JSON, one or more
 * documents, unique ids. `source` names where the text came from in every error (a syntax
 * error adds `:line:col`); an entry that does not validate still becomes a definition carrying
 * its error, as in a file.
 */
export function definitionsFromText(text: string, source: string): PolicyDefinition[] {
  return checkUnique(definitionsFromDocuments(parseYamlDocuments(text, source), source));
}

async function readFileDefinitions(
  file: string,
  source: string,
  manifestsOnly: boolean,
): Promise<PolicyDefinition[]> {
  const docs = await readYamlDocuments(file);
  const selected = manifestsOnly ? docs.filter(isManifest) : docs;
  return definitionsFromDocuments(selected, source);
}

/** Every document of a YAML (or JSON) file; a syntax error names the file, line and column. */
export async function readYamlDocuments(file: string): Promise<JsonValue[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new PalisadeError('file_unreadable', `cannot read ${file}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  return parseYamlDocuments(text, file);
}

export function parseYamlDocuments(text: string, file: string): JsonValue[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return [];
  return docs.map((doc) => {
    const problem = doc.errors[0];
    if (problem) {
      const pos = problem.linePos?.[0];
      const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
      throw new PalisadeError(
        'file_unreadable',
        `${where}: ${problem.message.split('\n')[0] ?? ''}`,
      );
    }
    return doc.toJS({ maxAliasCount: 100 }) as JsonValue;
  });
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules')
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(async (e) => {
        const full = join(dir, e.name);
        if (e.isDirectory()) return yamlFiles(full);
        return /\.ya?ml$/.test(e.name) ? [full] : [];
      }),
  );
  return nested.flat();
}

function checkUnique(defs: PolicyDefinition[]): PolicyDefinition[] {
  const seen = new Map<string, string>();
  for (const d of defs) {
    const first = seen.get(d.id);
    if (first !== undefined) {
      throw new PalisadeError(
        'manifest_invalid',
        `policy id "${d.id}" is defined twice: in ${first} and in ${d.source}`,
      );
    }
    seen.set(d.id, d.source);
  }
  return defs;
}
