import { BlockList, isIP } from 'node:net';

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The peers (TRUSTED_PROXIES: addresses or CIDR ranges, validated by the config) whose proxy user
 * header is believed. An IPv4 peer seen on a dual-stack socket (::ffff:10.0.0.1) matches the IPv4 rules.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(prefix), type);
    }
  }

  /** Whether a TCP peer address is one of the trusted proxies; unknown addresses are not. */
  includes(address: string | undefined): boolean {
    if (this.empty || !address) return false;
    const mapped = IPV4_MAPPED.exec(address)?.[1];
    const ip = mapped ?? address;
    const family = isIP(ip);
    if (family === 0) return false;
    return this.list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  }
}
