import type { Environment } from '@marcbachmann/cel-js';
import {
  addrEquals,
  addrPredicates,
  formatAddr,
  is4,
  is4In6,
  maskPrefix,
  parseAddr,
  parsePrefix,
  prefixContains,
  type Addr,
  type Prefix,
} from './netaddr.js';
import { registerNamespace } from './namespace.js';
import { celError, fn, type CelComparable } from './values.js';

export class IP implements CelComparable {
  constructor(readonly addr: Addr) {}

  celEquals(other: unknown): boolean {
    return other instanceof IP && addrEquals(this.addr, other.addr);
  }

  toString(): string {
    return formatAddr(this.addr);
  }

  celString(): string {
    return this.toString();
  }
}

export class CIDR implements CelComparable {
  constructor(readonly prefix: Prefix) {}

  celEquals(other: unknown): boolean {
    return (
      other instanceof CIDR &&
      this.prefix.bits === other.prefix.bits &&
      addrEquals(this.prefix.addr, other.prefix.addr)
    );
  }

  toString(): string {
    return `${formatAddr(this.prefix.addr)}/${this.prefix.bits}`;
  }

  celString(): string {
    return this.toString();
  }
}

/** Kubernetes `parseIPAddr`: Go's parser, then no zones and no IPv4-mapped IPv6 addresses. */
function parseIP(raw: string): IP {
  let addr: Addr;
  try {
    addr = parseAddr(raw);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw celError(
      `IP Address ${JSON.stringify(raw)} parse error during conversion from string: ${reason}`,
    );
  }
  if (addr.zone !== '')
    throw celError(`IP address ${JSON.stringify(raw)} with zone value is not allowed`);
  if (is4In6(addr))
    throw celError(`IPv4-mapped IPv6 address ${JSON.stringify(raw)} is not allowed`);
  return new IP(addr);
}

/** Kubernetes `parseCIDR` (its error text repeats the prefix, as Kubernetes' does). */
function parseCIDR(raw: string): CIDR {
  const prefix = 'network address parse error during conversion from string';
  let p: Prefix;
  try {
    p = parsePrefix(raw);
  } catch (e) {
    throw celError(`${prefix}: ${prefix}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (is4In6(p.addr)) {
    throw celError(`${prefix}: IPv4-mapped IPv6 address ${JSON.stringify(raw)} is not allowed`);
  }
  return new CIDR(p);
}

function succeeds(parse: (s: string) => unknown): (s: string) => boolean {
  return (s) => {
    try {
      parse(s);
      return true;
    } catch {
      return false;
    }
  };
}

/**
 * Containment as cel-go's network extension and the cel-spec conformance tests define it: the
 * other network is at least as specific and its address lies inside this network.
 */
function containsCIDR(c: CIDR, other: CIDR): boolean {
  return other.prefix.bits >= c.prefix.bits && prefixContains(c.prefix, other.prefix.addr);
}

const IPT = 'net.IP';
const CIDRT = 'net.CIDR';

/** Kubernetes IP and CIDR libraries (Kubernetes 1.30). */
export function registerNetLibrary(env: Environment): void {
  env.registerType(IPT, IP);
  env.registerType(CIDRT, CIDR);
  env.registerOperator(`${IPT} == ${IPT}`, (a: IP, b: IP) => a.celEquals(b));
  env.registerOperator(`${CIDRT} == ${CIDRT}`, (a: CIDR, b: CIDR) => a.celEquals(b));

  fn(env, `ip(string): ${IPT}`, parseIP);
  fn(env, 'isIP(string): bool', succeeds(parseIP));
  const ns = registerNamespace(env, 'ip');
  fn(
    env,
    `${ns}.isCanonical(string): bool`,
    (_: unknown, s: string) => parseIP(s).toString() === s,
  );
  fn(env, `string(${IPT}): string`, (ip: IP) => ip.toString());
  fn(env, `${IPT}.family(): int`, (ip: IP) => (is4(ip.addr) ? 4n : 6n));
  for (const [name, predicate] of Object.entries(addrPredicates)) {
    if (name === 'isMulticast') continue;
    fn(env, `${IPT}.${name}(): bool`, (ip: IP) => predicate(ip.addr));
  }

  fn(env, `cidr(string): ${CIDRT}`, parseCIDR);
  fn(env, 'isCIDR(string): bool', succeeds(parseCIDR));
  fn(env, `string(${CIDRT}): string`, (c: CIDR) => c.toString());
  fn(env, `${CIDRT}.containsIP(${IPT}): bool`, (c: CIDR, ip: IP) =>
    prefixContains(c.prefix, ip.addr),
  );
  fn(env, `${CIDRT}.containsIP(string): bool`, (c: CIDR, s: string) =>
    prefixContains(c.prefix, parseIP(s).addr),
  );
  fn(env, `${CIDRT}.containsCIDR(${CIDRT}): bool`, containsCIDR);
  fn(env, `${CIDRT}.containsCIDR(string): bool`, (c: CIDR, s: string) =>
    containsCIDR(c, parseCIDR(s)),
  );
  fn(env, `${CIDRT}.ip(): ${IPT}`, (c: CIDR) => new IP(c.prefix.addr));
  fn(env, `${CIDRT}.prefixLength(): int`, (c: CIDR) => BigInt(c.prefix.bits));
  fn(env, `${CIDRT}.masked(): ${CIDRT}`, (c: CIDR) => new CIDR(maskPrefix(c.prefix)));

  const ipType: unknown = env.evaluate(`type(ip('0.0.0.0'))`);
  const cidrType: unknown = env.evaluate(`type(cidr('0.0.0.0/0'))`);
  env.registerConstant('net', 'map<string, type>', { IP: ipType, CIDR: cidrType });
}
