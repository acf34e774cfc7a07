import type { KeyObject } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { parseDocument } from 'yaml';
import { PalisadeError, formatFieldErrors, type FieldError } from '../../shared/errors.js';
import { loadPublicKey } from './keys.js';
import { schemaErrors } from '../../shared/schema-errors.js';

/**
 * Kubewarden's `verification.yml` (policy-fetcher `verify/config.rs`, kubewarden.md §4.2):
 * `apiVersion: v1`, then `allOf` (every entry must be satisfied) and/or `anyOf`
 * (`minimumMatches`, default 1, of its `signatures`). Unknown fields are refused, as serde's
 * `deny_unknown_fields` does. Where Kubewarden would accept a config that cannot mean what
 * its author wants, Palisade refuses it at parse time instead: a `pubKey` whose key does not
 * load, an anyOf that asks for more matches than it lists, and a config that requires no
 * signature at all (an empty `allOf` alone lets everything through in Kubewarden).
 */

export interface Annotated {
  /** Annotations the signature's payload must carry (`cosign sign -a k=v`), with these values. */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface PubKeySignature extends Annotated {
  readonly kind: 'pubKey';
  /** Free text naming the key's owner; only for messages. */
  readonly owner?: string;
  /** The PEM as written. */
  readonly key: string;
  /** The key, loaded and checked (ECDSA P-256). */
  readonly publicKey: KeyObject;
}

export interface GenericIssuerSignature extends Annotated {
  readonly kind: 'genericIssuer';
  readonly issuer: string;
  /** `urlPrefix` always ends with `/`, so `…/kubewarden` cannot match `…/kubewarden-evil`. */
  readonly subject: { readonly equal: string } | { readonly urlPrefix: string };
}

export interface GithubActionSignature extends Annotated {
  readonly kind: 'githubAction';
  readonly owner: string;
  readonly repo?: string;
}

export type SignatureRequirement = PubKeySignature | GenericIssuerSignature | GithubActionSignature;

export interface VerificationConfig {
  readonly allOf?: readonly SignatureRequirement[];
  readonly anyOf?: {
    readonly minimumMatches: number;
    readonly signatures: readonly SignatureRequirement[];
  };
}

const strict = { additionalProperties: false } as const;
const Annotations = Type.Record(Type.String(), Type.String());

const DocumentSchema = Type.Object(
  {
    apiVersion: Type.Literal('v1'),
    allOf: Type.Optional(Type.Array(Type.Unknown())),
    anyOf: Type.Optional(
      Type.Object(
        {
          minimumMatches: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
          signatures: Type.Array(Type.Unknown()),
        },
        strict,
      ),
    ),
  },
  strict,
);

const KIND_SCHEMAS = {
  pubKey: Type.Object(
    {
      kind: Type.Literal('pubKey'),
      owner: Type.Optional(Type.String()),
      key: Type.String(),
      annotations: Type.Optional(Annotations),
    },
    strict,
  ),
  genericIssuer: Type.Object(
    {
      kind: Type.Literal('genericIssuer'),
      issuer: Type.String(),
      subject: Type.Record(Type.String(), Type.Unknown()),
      annotations: Type.Optional(Annotations),
    },
    strict,
  ),
  githubAction: Type.Object(
    {
      kind: Type.Literal('githubAction'),
      owner: Type.String(),
      repo: Type.Optional(Type.String()),
      annotations: Type.Optional(Annotations),
    },
    strict,
  ),
} as const;

type Kind = keyof typeof KIND_SCHEMAS;
const KINDS = Object.keys(KIND_SCHEMAS) as Kind[];

/** Fields that are `Option` in Kubewarden: serde reads `null` (an empty YAML value) as absent. */
const NULLABLE = new Set(['allOf', 'anyOf', 'owner', 'repo', 'annotations']);

/** Parses `verification.yml` text (YAML or JSON); `where` (the file name) prefixes errors. */
export function parseVerificationConfig(
  text: string,
  where = 'verification config',
): VerificationConfig {
  const doc = parseDocument(text);
  const problem = doc.errors[0];
  if (problem !== undefined) {
    const pos = problem.linePos?.[0];
    const at = pos === undefined ? where : `${where}:${pos.line}:${pos.col}`;
    throw new PalisadeError(
      'verification_config_invalid',
      `${at}: not YAML: ${problem.message.split('\n')[0] ?? ''}`,
    );
  }
  return verificationConfigFromDocument(doc.toJS({ maxAliasCount: 100 }), where);
}

/** Validates an already parsed document; returns it with defaults applied, frozen. */
export function verificationConfigFromDocument(
  document: unknown,
  where = 'verification config',
): VerificationConfig {
  const doc = withoutNulls(document);
  const errors = schemaErrors(DocumentSchema, doc, '');
  if (errors.length > 0) throw configError(where, errors);
  const raw = doc as {
    allOf?: unknown[];
    anyOf?: { minimumMatches?: number; signatures: unknown[] };
  };
  const allOf = raw.allOf?.map((s, i) => requirement(s, `allOf[${i}]`, errors));
  const anyOf =
    raw.anyOf === undefined
      ? undefined
      : {
          minimumMatches: raw.anyOf.minimumMatches ?? 1,
          signatures: raw.anyOf.signatures.map((s, i) =>
            requirement(s, `anyOf.signatures[${i}]`, errors),
          ),
        };
  if (anyOf !== undefined && anyOf.minimumMatches > anyOf.signatures.length) {
    errors.push({
      path: 'anyOf.minimumMatches',
      message: `is ${anyOf.minimumMatches} but anyOf lists only ${anyOf.signatures.length} signature(s), so nothing could verify`,
    });
  }
  if ((allOf?.length ?? 0) === 0 && (anyOf?.minimumMatches ?? 0) === 0) {
    errors.push({
      path: '(document)',
      message:
        'requires no signature: list allOf entries, or anyOf signatures with minimumMatches of 1 or more',
    });
  }
  if (errors.length > 0) throw configError(where, errors);
  return Object.freeze({
    ...(allOf === undefined ? {} : { allOf: Object.freeze(allOf as SignatureRequirement[]) }),
    ...(anyOf === undefined
      ? {}
      : {
          anyOf: Object.freeze({
            minimumMatches: anyOf.minimumMatches,
            signatures: Object.freeze(anyOf.signatures as SignatureRequirement[]),
          }),
        }),
  });
}

/** One signature entry, or undefined with its problems pushed to `errors`. */
function requirement(
  value: unknown,
  path: string,
  errors: FieldError[],
): SignatureRequirement | undefined {
  const entry = withoutNulls(value);
  const kind = (entry as { kind?: unknown } | undefined)?.kind;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    errors.push({ path, message: 'must be a map' });
    return undefined;
  }
  if (!KINDS.includes(kind as Kind)) {
    const message = kind === undefined ? 'is required' : `must be one of ${KINDS.join(', ')}`;
    errors.push({ path: `${path}.kind`, message });
    return undefined;
  }
  const problems = schemaErrors(KIND_SCHEMAS[kind as Kind], entry, path);
  if (problems.length > 0) {
    errors.push(...problems);
    return undefined;
  }
  const e = entry as Record<string, unknown>;
  const annotations =
    e['annotations'] === undefined
      ? {}
      : { annotations: Object.freeze({ ...(e['annotations'] as Record<string, string>) }) };
  switch (kind as Kind) {
    case 'pubKey': {
      const key = e['key'] as string;
      try {
        const publicKey = loadPublicKey(key, `${path}.key`);
        const owner = e['owner'] === undefined ? {} : { owner: e['owner'] as string };
        return Object.freeze({ kind: 'pubKey', ...owner, key, publicKey, ...annotations });
      } catch (err) {
        const prefix = `${path}.key `;
        const text = err instanceof Error ? err.message : String(err);
        const message = text.startsWith(prefix) ? text.slice(prefix.length) : text;
        errors.push({ path: `${path}.key`, message });
        return undefined;
      }
    }
    case 'genericIssuer': {
      const subject = parseSubject(
        e['subject'] as Record<string, unknown>,
        `${path}.subject`,
        errors,
      );
      if (subject === undefined) return undefined;
      return Object.freeze({
        kind: 'genericIssuer',
        issuer: e['issuer'] as string,
        subject,
        ...annotations,
      });
    }
    case 'githubAction': {
      const repo = e['repo'] === undefined ? {} : { repo: e['repo'] as string };
      return Object.freeze({
        kind: 'githubAction',
        owner: e['owner'] as string,
        ...repo,
        ...annotations,
      });
    }
  }
}

/** Kubewarden's externally tagged `Subject`: exactly one of `equal` or `urlPrefix` (a URL). */
function parseSubject(
  subject: Record<string, unknown>,
  path: string,
  errors: FieldError[],
): GenericIssuerSignature['subject'] | undefined {
  const keys = Object.keys(subject);
  const [only] = keys;
  const value = only === undefined ? undefined : subject[only];
  if (keys.length !== 1 || (only !== 'equal' && only !== 'urlPrefix')) {
    errors.push({ path, message: 'must be {equal: <subject>} or {urlPrefix: <URL>}' });
    return undefined;
  }
  if (typeof value !== 'string') {
    errors.push({ path: `${path}.${only}`, message: 'must be a string' });
    return undefined;
  }
  if (only === 'equal') return Object.freeze({ equal: value });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    errors.push({ path: `${path}.urlPrefix`, message: `${JSON.stringify(value)} is not a URL` });
    return undefined;
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return Object.freeze({ urlPrefix: url.toString() });
}

function withoutNulls(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value).filter(([k, v]) => !(v === null && NULLABLE.has(k))),
  );
}

function configError(where: string, fields: readonly FieldError[]): PalisadeError {
  return new PalisadeError(
    'verification_config_invalid',
    `${where}: invalid verification config: ${formatFieldErrors(fields)}`,
    { fields },
  );
}
