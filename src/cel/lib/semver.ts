import type { Environment } from '@marcbachmann/cel-js';
import { celError, fn, type CelComparable } from './values.js';

const MAX_UINT64 = 18446744073709551615n;

type PreRelease = string | bigint;

/** A semantic version as `github.com/blang/semver/v4` parses it; build metadata never compares. */
export class Semver implements CelComparable {
  constructor(
    readonly major: bigint,
    readonly minor: bigint,
    readonly patch: bigint,
    readonly pre: readonly PreRelease[],
    readonly build: readonly string[],
  ) {}

  compare(o: Semver): number {
    for (const [a, b] of [
      [this.major, o.major],
      [this.minor, o.minor],
      [this.patch, o.patch],
    ] as const) {
      if (a !== b) return a < b ? -1 : 1;
    }
    if (this.pre.length === 0 || o.pre.length === 0) {
      return this.pre.length === o.pre.length ? 0 : this.pre.length === 0 ? 1 : -1;
    }
    for (let i = 0; i < Math.min(this.pre.length, o.pre.length); i++) {
      const c = comparePre(this.pre[i] ?? '', o.pre[i] ?? '');
      if (c !== 0) return c;
    }
    return this.pre.length === o.pre.length ? 0 : this.pre.length < o.pre.length ? -1 : 1;
  }

  celEquals(other: unknown): boolean {
    return other instanceof Semver && this.compare(other) === 0;
  }
}

function comparePre(a: PreRelease, b: PreRelease): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a === b ? 0 : a < b ? -1 : 1;
  if (typeof a === 'bigint') return -1;
  if (typeof b === 'bigint') return 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

const NUMBERS = /^[0-9]+$/;
const ALPHANUM = /^[0-9A-Za-z-]+$/;

function parseNumber(s: string, what: string): bigint {
  if (!NUMBERS.test(s)) throw celError(`Invalid character(s) found in ${what} number "${s}"`);
  if (s.length > 1 && s.startsWith('0')) {
    throw celError(
      `${what[0]?.toUpperCase() ?? ''}${what.slice(1)} number must not contain leading zeroes "${s}"`,
    );
  }
  const n = BigInt(s);
  if (n > MAX_UINT64) throw celError(`${what} number "${s}" out of range`);
  return n;
}

function parsePre(s: string): PreRelease {
  if (s === '') throw celError('Prerelease is empty');
  if (NUMBERS.test(s)) {
    if (s.length > 1 && s.startsWith('0')) {
      throw celError(`Numeric PreRelease version must not contain leading zeroes "${s}"`);
    }
    return BigInt(s);
  }
  if (!ALPHANUM.test(s)) throw celError(`Invalid character(s) found in prerelease "${s}"`);
  return s;
}

function parseBuild(s: string): string {
  if (s === '') throw celError('Build meta data is empty');
  if (!ALPHANUM.test(s)) throw celError(`Invalid character(s) found in build meta data "${s}"`);
  return s;
}

/** blang/semver `Parse`: strict `MAJOR.MINOR.PATCH[-PRE][+BUILD]`. */
export function parseSemver(s: string): Semver {
  if (s.length === 0) throw celError('Version string empty');
  const parts = splitN(s, '.', 3);
  if (parts.length !== 3) throw celError('No Major.Minor.Patch elements found');
  const [majorStr = '', minorStr = '', rest = ''] = parts;
  const major = parseNumber(majorStr, 'major');
  const minor = parseNumber(minorStr, 'minor');
  let patchStr = rest;
  let build: string[] = [];
  let pre: PreRelease[] = [];
  const plus = patchStr.indexOf('+');
  if (plus >= 0) {
    build = patchStr
      .slice(plus + 1)
      .split('.')
      .map(parseBuild);
    patchStr = patchStr.slice(0, plus);
  }
  const dash = patchStr.indexOf('-');
  if (dash >= 0) {
    pre = patchStr
      .slice(dash + 1)
      .split('.')
      .map(parsePre);
    patchStr = patchStr.slice(0, dash);
  }
  return new Semver(major, minor, parseNumber(patchStr, 'patch'), pre, build);
}

/** Go's `strings.SplitN`: at most `n` parts, the last holding the remainder. */
function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}

/** Kubernetes' `normalizeAndParse`: drop a `v`, strip leading zeros, pad to three parts. */
function normalizeAndParse(input: string): Semver {
  const s = input.startsWith('v') ? input.slice(1) : input;
  const parts = splitN(s, '.', 3).map((p) => {
    if (p.length <= 1) return p;
    const trimmed = p.replace(/^0+/, '');
    return trimmed === '' || !/^[0-9]/.test(trimmed) ? `0${trimmed}` : trimmed;
  });
  if (parts.length < 3) {
    if (/[+-]/.test(parts[parts.length - 1] ?? '')) {
      throw celError('short version cannot contain PreRelease/Build meta data');
    }
    while (parts.length < 3) parts.push('0');
  }
  return parseSemver(parts.join('.'));
}

function parse(s: string, normalize: boolean): Semver {
  return normalize ? normalizeAndParse(s) : parseSemver(s);
}

function isSemver(s: string, normalize: boolean): boolean {
  try {
    parse(s, normalize);
    return true;
  } catch {
    return false;
  }
}

const S = 'kubernetes.Semver';

/** Kubernetes semver library (Kubernetes 1.33, version 1 with normalisation). */
export function registerSemverLibrary(env: Environment): void {
  env.registerType(S, Semver);
  env.registerOperator(`${S} == ${S}`, (a: Semver, b: Semver) => a.celEquals(b));
  fn(env, `semver(string): ${S}`, (s: string) => parse(s, false));
  fn(env, `semver(string, bool): ${S}`, parse);
  fn(env, 'isSemver(string): bool', (s: string) => isSemver(s, false));
  fn(env, 'isSemver(string, bool): bool', isSemver);
  fn(env, `${S}.isGreaterThan(${S}): bool`, (a: Semver, b: Semver) => a.compare(b) === 1);
  fn(env, `${S}.isLessThan(${S}): bool`, (a: Semver, b: Semver) => a.compare(b) === -1);
  fn(env, `${S}.compareTo(${S}): int`, (a: Semver, b: Semver) => BigInt(a.compare(b)));
  fn(env, `${S}.major(): int`, (v: Semver) => v.major);
  fn(env, `${S}.minor(): int`, (v: Semver) => v.minor);
  fn(env, `${S}.patch(): int`, (v: Semver) => v.patch);
}
