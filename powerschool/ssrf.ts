import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';

/**
 * SSRF guard: a school types its PowerSchool URL, so the worker must never be talked into calling
 * an internal address (loopback, private networks, cloud metadata at 169.254.169.254, ...).
 * Hostnames are checked at connect time, on the addresses DNS actually returned (so a name that
 * resolves to 10.0.0.5 is refused too, and there is no check-then-resolve gap).
 */

const forbidden = new BlockList();
// IPv4
forbidden.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network", incl. the unspecified 0.0.0.0
forbidden.addSubnet('10.0.0.0', 8, 'ipv4'); // private
forbidden.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT
forbidden.addSubnet('127.0.0.0', 8, 'ipv4'); // loopback
forbidden.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. cloud metadata
forbidden.addSubnet('172.16.0.0', 12, 'ipv4'); // private
forbidden.addSubnet('192.0.0.0', 24, 'ipv4'); // IETF protocol assignments
forbidden.addSubnet('192.168.0.0', 16, 'ipv4'); // private
forbidden.addSubnet('198.18.0.0', 15, 'ipv4'); // benchmarking
forbidden.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
forbidden.addSubnet('240.0.0.0', 4, 'ipv4'); // reserved, incl. broadcast
// IPv6
forbidden.addAddress('::', 'ipv6'); // unspecified
forbidden.addAddress('::1', 'ipv6'); // loopback
forbidden.addSubnet('fc00::', 7, 'ipv6'); // unique local
forbidden.addSubnet('fe80::', 10, 'ipv6'); // link-local
forbidden.addSubnet('ff00::', 8, 'ipv6'); // multicast

/** IPv4 embedded in IPv6 (::ffff:10.0.0.1, ::10.0.0.1, 64:ff9b::10.0.0.1) is judged as IPv4. */
function embeddedIPv4(ip: string): string | null {
  const lower = ip.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

/** True for any address the client must not connect to (and for anything that is not an IP). */
export function isForbiddenAddress(ip: string): boolean {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const version = isIP(bare);
  if (version === 4) return forbidden.check(bare, 'ipv4');
  if (version === 6) {
    const v4 = embeddedIPv4(bare);
    if (v4 !== null) return isForbiddenAddress(v4);
    return forbidden.check(bare, 'ipv6');
  }
  return true;
}

export class ForbiddenAddressError extends Error {
  override name = 'ForbiddenAddressError';
  readonly code = 'EFORBIDDENADDRESS';
  constructor(readonly hostname: string) {
    super(`${hostname} resolves to an internal address; refusing to connect`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A drop-in for `dns.lookup` (as used by `net.connect`) that refuses forbidden addresses. */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, options.all ? [] : '', undefined);
    const list = addresses as LookupAddress[];
    if (list.length === 0 || list.some((a) => isForbiddenAddress(a.address))) {
      return callback(new ForbiddenAddressError(hostname), options.all ? [] : '', undefined);
    }
    if (options.all) return callback(null, list);
    const first = list[0]!;
    return callback(null, first.address, first.family);
  });
}
