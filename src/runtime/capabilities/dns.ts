import { lookup } from 'node:dns/promises';

/** Resolves a host name to every address the system resolver knows, as text. */
export type HostResolver = (host: string) => Promise<readonly string[]>;

/**
 * The system resolver through getaddrinfo, like Kubewarden's `dns_lookup::lookup_host`: it
 * honours /etc/hosts and nsswitch (so `localhost` works offline), returns IPv4 and IPv6 in the
 * resolver's order, and never searches DNS suffixes beyond what the system does.
 */
export const systemResolver: HostResolver = async (host) => {
  const answers = await lookup(host, { all: true, order: 'verbatim' });
  return [...new Set(answers.map((a) => a.address))];
};

/** `net/v1/dns_lookup_host`: answers `{"ips": [...]}`. */
export async function dnsLookupHost(
  resolver: HostResolver,
  host: string,
): Promise<{ ips: string[] }> {
  if (host === '') throw new Error('cannot look up an empty host name');
  return { ips: [...(await resolver(host))] };
}
