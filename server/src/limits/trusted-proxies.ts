/**
 * Which remote address a request is charged to when the server sits behind proxies (K14,
 * docs/security.md "Behind a proxy").
 *
 * Behind a load balancer every TCP connection comes from the balancer, so the per-address
 * budgets (connections and new documents a minute, frames a second, history bytes) would be
 * one budget shared by everyone. A proxy says who its client was in `X-Forwarded-For`, each
 * proxy appending the address it received the request from. Anyone can send that header,
 * though, so it is believed only as far as the chain of trusted proxies goes:
 *
 *   - the TCP peer is not a trusted proxy: the header is ignored, the peer is the address;
 *   - it is: the header's entries are read from the right (the entry the nearest proxy
 *     added), skipping those that are trusted proxies themselves; the first that is not is
 *     the client's address. An entry that is not an IP address ends the walk: the last
 *     trusted hop is the address (what a client wrote there is never a budget key).
 *
 * So a client cannot choose its address by sending the header: directly to the server it is
 * ignored, and through a proxy its own entries are to the left of the one the proxy added.
 *
 * Addresses are compared and returned in one form: an IPv4 address that arrives as IPv4-mapped
 * IPv6 (`::ffff:10.0.0.1`, how a dual-stack socket reports IPv4 peers) is the IPv4 address, so
 * `127.0.0.1` in the list matches it and one client has one budget key.
 */
import { BlockList, isIP } from 'node:net';

/**
 * The configured trusted proxies (TRUSTED_PROXIES): addresses and CIDR ranges, IPv4 and IPv6.
 * `spec` is the list as given, normalised, for the startup log.
 */
export interface TrustedProxies {
  readonly spec: readonly string[];
  /** Whether `address` (any form a socket reports) is one of them. */
  has(address: string): boolean;
}

/**
 * Parses TRUSTED_PROXIES: a comma-separated list of IP addresses and CIDR ranges
 * (`127.0.0.1,10.0.0.0/8,::1,fd00::/8`). Empty means none. Throws an Error naming the bad entry
 * (a startup failure, as for any malformed setting: K13).
 */
export function parseTrustedProxies(value: string, name = 'TRUSTED_PROXIES'): TrustedProxies {
  const list = new BlockList();
  const spec: string[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const addr = normalize(slash < 0 ? entry : entry.slice(0, slash));
    const family = isIP(addr);
    if (family === 0) throw new Error(`${name}: ${JSON.stringify(entry)} is not an IP address or CIDR range (e.g. 10.0.0.0/8, fd00::/8, 127.0.0.1)`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      list.addAddress(addr, type);
      spec.push(addr);
      continue;
    }
    const prefixText = entry.slice(slash + 1);
    const prefix = Number(prefixText);
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
      throw new Error(`${name}: ${JSON.stringify(entry)} has a prefix length that is not 0-${max}`);
    }
    list.addSubnet(addr, prefix, type);
    spec.push(`${addr}/${prefix}`);
  }
  return {
    spec,
    has(address: string): boolean {
      const a = normalize(address);
      const family = isIP(a);
      return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * The address a request from TCP peer `peer` is charged to, given its `X-Forwarded-For`
 * header(s) (Node joins repeated headers with ", "). See the file comment for the rule.
 */
export function clientAddress(peer: string, forwardedFor: string | readonly string[] | undefined, trusted: TrustedProxies | null): string {
  let address = normalize(peer);
  if (trusted === null || forwardedFor === undefined || !trusted.has(address)) return address;
  const entries = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')).split(',');
  for (let i = entries.length - 1; i >= 0; i--) {
    const hop = hostOf(entries[i].trim());
    if (hop === null) return address; // not an address: nothing further left is believed
    address = hop;
    if (!trusted.has(hop)) return hop;
  }
  return address; // every hop is a trusted proxy: the left-most one
}

/** The IP address of one X-Forwarded-For entry (`1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`), or null. */
function hostOf(entry: string): string | null {
  let host = entry;
  const bracket = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry);
  if (bracket) host = bracket[1];
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(entry)) host = entry.slice(0, entry.lastIndexOf(':'));
  const a = normalize(host);
  return isIP(a) === 0 ? null : a;
}

/** `::ffff:1.2.3.4` (IPv4-mapped IPv6) as `1.2.3.4`; IPv6 in lower case; anything else as it is. */
function normalize(address: string): string {
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (mapped && isIP(mapped[1]) === 4) return mapped[1];
  return lower;
}
