import type { Environment } from '@marcbachmann/cel-js';
import { parseRequestURI } from './gourl.js';
import { registerNamespace } from './namespace.js';
import { fn, optionalNone, optionalOf, type CelComparable } from './values.js';

/** A named Kubernetes string format; formats are singletons compared by name. */
export class NamedFormat implements CelComparable {
  constructor(
    readonly name: string,
    readonly validate: (s: string) => string[],
  ) {}

  celEquals(other: unknown): boolean {
    return other instanceof NamedFormat && other.name === this.name;
  }
}

/** apimachinery `RegexError`: the message, its examples and the pattern used. */
function regexError(msg: string, pattern: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${pattern}')`;
  const eg = examples.map((e) => `'${e}', `).join(' or ');
  return `${msg} (e.g. ${eg}regex used for validation is '${pattern}')`;
}

const maxLenError = (n: number): string => `must be no more than ${n} characters`;

const LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const SUBDOMAIN_FMT = `${LABEL_FMT}(\\.${LABEL_FMT})*`;
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const QNAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QNAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`;
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

const full = (pattern: string): RegExp => new RegExp(`^(?:${pattern})$`);
const LABEL_RE = full(LABEL_FMT);
const SUBDOMAIN_RE = full(SUBDOMAIN_FMT);
const DNS1035_RE = full(DNS1035_FMT);
const QNAME_RE = full(QNAME_FMT);
const LABEL_VALUE_RE = full(LABEL_VALUE_FMT);

function dns1123Label(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push(maxLenError(63));
  if (!LABEL_RE.test(s)) errs.push(regexError(LABEL_MSG, LABEL_FMT, 'my-name', '123-abc'));
  return errs;
}

function dns1123Subdomain(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 253) errs.push(maxLenError(253));
  if (!SUBDOMAIN_RE.test(s)) errs.push(regexError(SUBDOMAIN_MSG, SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

function dns1035Label(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push(maxLenError(63));
  if (!DNS1035_RE.test(s)) errs.push(regexError(DNS1035_MSG, DNS1035_FMT, 'my-name', 'abc-123'));
  return errs;
}

/** apimachinery `maskTrailingDash`, which lets generateName prefixes end in a dash. */
function maskTrailingDash(s: string): string {
  return s.length > 1 && s.endsWith('-') ? `${s.slice(0, -2)}a` : s;
}

function qualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name = parts[0] ?? '';
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else if (parts.length > 2) {
    return [
      `a qualified name ${regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!QNAME_RE.test(name)) {
    errs.push(`name part ${regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  }
  return errs;
}

function labelValue(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(s)) {
    errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  }
  return errs;
}

const UUID_RE = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Go `time.Parse("2006-01-02", s)`, which checks the day against the month. */
function isDate(s: string): boolean {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(s);
  if (m === null) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/** kube-openapi `strfmt.IsDateTime`: an RFC 3339 date, `T`, and a time with zone. */
function isDateTime(s: string): boolean {
  if (s.length < 4) return false;
  const parts = s.toLowerCase().split('t');
  if (parts.length < 2 || !isDate(parts[0] ?? '')) return false;
  const m = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:z|[+-][0-9]{2}:[0-9]{2})$/.exec(
    parts[1] ?? '',
  );
  if (m === null) return false;
  return Number(m[1]) < 24 && Number(m[2]) < 60 && Number(m[3]) < 60;
}

function check(ok: (s: string) => boolean, message: string): (s: string) => string[] {
  return (s) => (ok(s) ? [] : [message]);
}

function uri(s: string): string[] {
  try {
    parseRequestURI(s);
    return [];
  } catch (e) {
    return [e instanceof Error ? e.message : String(e)];
  }
}

const FORMATS: Record<string, NamedFormat> = Object.fromEntries(
  (
    [
      ['dns1123Label', 'DNS1123Label', dns1123Label],
      ['dns1123Subdomain', 'DNS1123Subdomain', dns1123Subdomain],
      ['dns1035Label', 'DNS1035Label', dns1035Label],
      ['qualifiedName', 'QualifiedName', qualifiedName],
      ['dns1123LabelPrefix', 'DNS1123LabelPrefix', (s) => dns1123Label(maskTrailingDash(s))],
      [
        'dns1123SubdomainPrefix',
        'DNS1123SubdomainPrefix',
        (s) => dns1123Subdomain(maskTrailingDash(s)),
      ],
      ['dns1035LabelPrefix', 'DNS1035LabelPrefix', (s) => dns1035Label(maskTrailingDash(s))],
      ['labelValue', 'LabelValue', labelValue],
      ['uri', 'URI', uri],
      ['uuid', 'uuid', check((s) => UUID_RE.test(s), 'does not match the UUID format')],
      ['byte', 'byte', check((s) => BASE64_RE.test(s), 'invalid base64')],
      ['date', 'date', check(isDate, 'invalid date')],
      ['datetime', 'datetime', check(isDateTime, 'invalid datetime')],
    ] as const satisfies readonly (readonly [string, string, (s: string) => string[]])[]
  ).map(([key, name, validate]) => [key, new NamedFormat(name, validate)]),
);

/** The names `format.named()` accepts, for tests and documentation. */
export const FORMAT_NAMES: readonly string[] = Object.keys(FORMATS);

const F = 'kubernetes.NamedFormat';

/** Kubernetes format library (Kubernetes 1.31). */
export function registerFormatLibrary(env: Environment): void {
  env.registerType(F, NamedFormat);
  env.registerOperator(`${F} == ${F}`, (a: NamedFormat, b: NamedFormat) => a.celEquals(b));
  const ns = registerNamespace(env, 'format');
  for (const [key, format] of Object.entries(FORMATS)) {
    fn(env, `${ns}.${key}(): ${F}`, () => format);
  }
  fn(env, `${ns}.named(string): optional<${F}>`, (_: unknown, name: string) => {
    const f = Object.hasOwn(FORMATS, name) ? FORMATS[name] : undefined;
    return f === undefined ? optionalNone() : optionalOf(f);
  });
  fn(env, `${F}.validate(string): optional<list<string>>`, (f: NamedFormat, s: string) => {
    const errs = f.validate(s);
    return errs.length === 0 ? optionalNone() : optionalOf(errs);
  });
}
