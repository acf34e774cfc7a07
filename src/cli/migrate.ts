import {
  CST,
  Composer,
  LineCounter,
  Parser,
  isAlias,
  isMap,
  isSeq,
  visit,
  type Document,
  type Node as YamlNode,
  type YAMLMap,
} from 'yaml';
import { KUBEWARDEN_GROUP, PALISADE_GROUP } from '../api/policies/v1.js';
import { PalisadeError } from '../shared/errors.js';
import {
  migrateResource,
  setText,
  text,
  type FindingLevel,
  type Report,
} from './migrate-resource.js';

/**
 * `palisade migrate`: Kubewarden manifests in, the same manifests under `policies.palisade.dev/v1`
 * out, plus one finding per thing that could not be carried over as it was. Pure (text in, text
 * and findings out) so every rewrite is unit-tested without files or processes.
 *
 * Documents are edited through yaml's Document API, so comments, key order, quoting and flow
 * style survive; a document migrate does not touch is copied byte for byte from its source.
 */

export type { FindingLevel } from './migrate-resource.js';

export interface MigrationFinding {
  readonly source: string;
  /** 1-based position of the document in its file, as `palisade run` counts them. */
  readonly document: number;
  /** `items[i]` inside a `kind: List` document. */
  readonly item?: number;
  /** `Kind name`, when the document has them. */
  readonly resource?: string;
  readonly path?: string;
  readonly message: string;
  readonly level: FindingLevel;
}

export interface MigrationInput {
  /** The file name findings and syntax errors are reported against. */
  readonly source: string;
  readonly text: string;
}

export interface MigrationResult {
  readonly output: string;
  readonly findings: readonly MigrationFinding[];
  /** Non-empty documents read (List items count once, as their List). */
  readonly documents: number;
  /** Resources moved to Palisade's group. */
  readonly rewritten: number;
}

/** Rewrites every input, in order, into one YAML stream. Throws `file_unreadable` on a syntax error. */
export function migrateManifests(inputs: readonly MigrationInput[]): MigrationResult {
  const findings: MigrationFinding[] = [];
  let output = '';
  let documents = 0;
  let rewritten = 0;
  for (const input of inputs) {
    let stream = '';
    for (const [index, segment] of segmentsOf(input).entries()) {
      const { doc } = segment;
      if (doc === undefined) {
        stream += segment.text;
        continue;
      }
      // The first document of a second file needs a `---` of its own to stay a document.
      const separate = index === 0 && output.trim() !== '';
      if (doc.contents !== null) documents += 1;
      const resources = migrateDocument(doc, (finding) => {
        findings.push({ source: input.source, document: index + 1, ...finding });
      });
      rewritten += resources;
      const body = resources > 0 ? doc.toString(stringifyOptions(segment.text)) : segment.text;
      stream += (separate && doc.directives.docStart !== true ? '---\n' : '') + body;
    }
    output += stream === '' || stream.endsWith('\n') ? stream : `${stream}\n`;
  }
  return { output, findings, documents, rewritten };
}

/** `file: document 3 (ClusterAdmissionPolicy privileged-pods): spec.foo: unknown field, dropped` */
export function formatFinding(f: MigrationFinding): string {
  const item = f.item === undefined ? '' : `, items[${f.item}]`;
  const resource = f.resource === undefined ? '' : ` (${f.resource})`;
  const path = f.path === undefined ? '' : `${f.path}: `;
  return `${f.source}: document ${f.document}${item}${resource}: ${path}${f.message}`;
}

/** True when a finding means the migrated manifests do not do what the Kubewarden ones did. */
export function losesInformation(f: MigrationFinding): boolean {
  return f.level === 'lost' || f.level === 'action';
}

/** One line for the end of the report, so a clean run still says what it did. */
export function formatSummary(result: MigrationResult): string {
  const serious = result.findings.filter(losesInformation).length;
  const outcome =
    serious === 0
      ? 'everything carried over'
      : `${serious} finding${serious === 1 ? '' : 's'} lose information or need action`;
  return `palisade migrate: ${result.documents} document${result.documents === 1 ? '' : 's'}, ${result.rewritten} resource${result.rewritten === 1 ? '' : 's'} rewritten to ${PALISADE_GROUP}/v1; ${outcome}`;
}

interface Segment {
  /** The exact source of the document, with the comments and markers around it. */
  readonly text: string;
  readonly doc?: Document.Parsed;
}

/**
 * Splits a stream into documents with their exact source: comments before a document and
 * `...` after it belong to it, as yaml's composer attaches them, so an untouched document
 * is copied verbatim and a rewritten one replaces its whole segment.
 */
function segmentsOf(input: MigrationInput): Segment[] {
  const lines = new LineCounter();
  const tokens = [...new Parser(lines.addNewLine).parse(input.text)];
  const docs = [...new Composer().compose(tokens)];
  for (const doc of docs) {
    const problem = doc.errors[0];
    if (problem) {
      const { line, col } = lines.linePos(problem.pos[0]);
      throw new PalisadeError(
        'file_unreadable',
        `${input.source}:${line}:${col}: ${problem.message.split('\n')[0] ?? ''}`,
      );
    }
  }
  const texts: string[] = [];
  let pending = '';
  for (const token of tokens) {
    const source = CST.stringify(token);
    if (token.type === 'document') texts.push(pending + source);
    else if (token.type === 'doc-end' && texts.length > 0)
      texts.push((texts.pop() ?? '') + pending + source);
    else {
      pending += source;
      continue;
    }
    pending = '';
  }
  if (texts.length === 0) return [{ text: pending }];
  texts.push((texts.pop() ?? '') + pending);
  return texts.map((text, i) => ({ text, ...(docs[i] ? { doc: docs[i] } : {}) }));
}

/** Keeps the file's own sequence indentation (`key:\n- a` or `key:\n  - a`) and long lines. */
function stringifyOptions(text: string): {
  lineWidth: number;
  flowCollectionPadding: boolean;
  indentSeq: boolean;
} {
  const lines = text.split('\n');
  let flat = 0;
  let indented = 0;
  for (const [i, line] of lines.entries()) {
    const key = /^( *)((?:- +)*)[^\s#-][^#]*?:\s*(?:#.*)?$/.exec(line);
    if (!key) continue;
    let next = i + 1;
    while (next < lines.length && /^\s*(#.*)?$/.test(lines[next] ?? '')) next += 1;
    const item = /^( *)- /.exec(lines[next] ?? '');
    if (!item) continue;
    const keyIndent = (key[1] ?? '').length + (key[2] ?? '').length;
    if ((item[1] ?? '').length === keyIndent) flat += 1;
    else indented += 1;
  }
  return { lineWidth: 0, flowCollectionPadding: false, indentSeq: indented >= flat };
}

type Emit = (finding: Omit<MigrationFinding, 'source' | 'document'>) => void;

/** Migrates a document (each item of a `kind: List`); answers how many resources it rewrote. */
function migrateDocument(doc: Document.Parsed, emit: Emit): number {
  const root = doc.contents;
  if (root === null) return 0;
  expandAliases(doc);
  if (!isMap(root)) {
    emit({ level: 'verbose', message: 'not a Kubernetes resource, copied unchanged' });
    return 0;
  }
  const items = root.get('items', true);
  if (text(root, 'kind')?.endsWith('List') === true && isSeq(items)) {
    let rewritten = 0;
    items.items.forEach((item, i) => {
      if (isMap(item)) rewritten += migrateResource(doc, item, reporter(emit, item, i)) ? 1 : 0;
    });
    const [group] = (text(root, 'apiVersion') ?? '').split('/');
    if (group === KUBEWARDEN_GROUP && rewritten > 0) {
      setText(root, 'apiVersion', `${PALISADE_GROUP}/v1`);
    }
    return rewritten;
  }
  return migrateResource(doc, root, reporter(emit, root, undefined)) ? 1 : 0;
}

/**
 * Replaces each alias by a copy of its anchored node, so dropping that node (a `status`, an
 * unknown field) cannot leave an alias pointing nowhere. The values stay the same.
 */
function expandAliases(doc: Document.Parsed): void {
  visit(doc, {
    Alias(_, alias) {
      const copy = alias.resolve(doc)?.clone() as YamlNode | undefined;
      if (copy === undefined) return undefined;
      visit(copy, {
        Node(_key, node) {
          if (!isAlias(node)) delete node.anchor;
        },
      });
      return copy;
    },
  });
}

function reporter(emit: Emit, node: YAMLMap, item: number | undefined): Report {
  const kind = text(node, 'kind');
  const metadata = node.get('metadata', true);
  const name = isMap(metadata) ? text(metadata, 'name') : undefined;
  const resource = [kind, name].filter((s) => s !== undefined).join(' ');
  return (level, path, message) => {
    emit({
      level,
      message,
      ...(item !== undefined ? { item } : {}),
      ...(resource !== '' ? { resource } : {}),
      ...(path !== undefined ? { path } : {}),
    });
  };
}
