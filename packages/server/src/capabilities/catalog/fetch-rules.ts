import ipaddr from 'ipaddr.js';

/**
 * Which addresses a catalog fetch (URL locations, git over http(s)) may connect to for a location
 * that a non-admin registered. Public unicast addresses only: loopback, private (RFC 1918, CGNAT,
 * ULA), link-local (cloud metadata at 169.254.169.254), unspecified, multicast, reserved and the
 * IPv6 forms that embed an IPv4 address (mapped, 6to4, NAT64, Teredo) are refused unless
 * `catalog.fetch.allowHosts` names the host, the address or a CIDR range holding it.
 */
export class FetchRules {
  private readonly names: string[] = [];
  private readonly suffixes: string[] = [];
  private readonly ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];

  constructor(allowHosts: readonly string[] = []) {
    for (const raw of allowHosts) {
      const entry = raw
        .trim()
        .toLowerCase()
        .replace(/^\[(.*)\]$/, '$1');
      if (entry.includes('/')) this.ranges.push(normalizeRange(ipaddr.parseCIDR(entry)));
      else if (ipaddr.isValid(entry)) {
        const addr = ipaddr.process(entry);
        this.ranges.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
      } else if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1));
      else this.names.push(entry);
    }
  }

  /** Checks one entry of the config, for the schema: a host name, an IP address or a CIDR range. */
  static isValidEntry(raw: string): boolean {
    const entry = raw.trim().replace(/^\[(.*)\]$/, '$1');
    if (entry.includes('/')) return ipaddr.isValidCIDR(entry);
    return (
      ipaddr.isValid(entry) || /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(entry)
    );
  }

  /** Whether the admin named this host: then any address it resolves to is allowed. */
  allowsName(host: string): boolean {
    const h = bareHost(host).toLowerCase().replace(/\.$/, '');
    return this.names.includes(h) || this.suffixes.some((s) => h.endsWith(s));
  }

  /** Why connecting to `address` (resolved from `host`) is refused, or undefined when it is allowed. */
  refusal(host: string, address: string): string | undefined {
    if (this.allowsName(host)) return undefined;
    if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
    const addr = ipaddr.process(address);
    if (this.ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits))) return undefined;
    const range = addr.range();
    return range === 'unicast' ? undefined : `${host} is a ${range} address (${addr.toString()})`;
  }
}

/** `[::1]` as URL.hostname gives it, without the brackets. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** An IPv4-mapped range (`::ffff:10.0.0.0/104`) compares as the IPv4 range it stands for. */
function normalizeRange([net, bits]: [ipaddr.IPv4 | ipaddr.IPv6, number]): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96)
    return [(net as ipaddr.IPv6).toIPv4Address(), bits - 96];
  return [net, bits];
}
