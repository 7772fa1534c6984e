// The one SSRF block list: which addresses and host names PowerSchool requests may reach.
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';

/**
 * SSRF guard: a school types its PowerSchool URL, so the service must never be talked into calling
 * an internal address (loopback, private networks, cloud metadata at 169.254.169.254, ...).
 * Hostnames are checked at connect time, on the addresses DNS actually returned (so a name that
 * resolves to 10.0.0.5 is refused too, and there is no check-then-resolve gap). The API checks
 * literal addresses and names with the same lists when a URL is saved.
 *
 * Two lists: `internal` is lifted by ALLOW_INSECURE_POWERSCHOOL (development and tests talk to a
 * simulator on loopback); `always` is never lifted, because nothing legitimate lives there and
 * cloud metadata hands out credentials.
 */

const always = new BlockList();
always.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. AWS/GCP/Azure metadata 169.254.169.254
always.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata (inside CGNAT space)
always.addSubnet('fe80::', 10, 'ipv6'); // link-local
always.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6 (inside unique-local space)

const internal = new BlockList();
// IPv4
internal.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network", incl. the unspecified 0.0.0.0
internal.addSubnet('10.0.0.0', 8, 'ipv4'); // private
internal.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT
internal.addSubnet('127.0.0.0', 8, 'ipv4'); // loopback
internal.addSubnet('172.16.0.0', 12, 'ipv4'); // private
internal.addSubnet('192.0.0.0', 24, 'ipv4'); // IETF protocol assignments
internal.addSubnet('192.168.0.0', 16, 'ipv4'); // private
internal.addSubnet('198.18.0.0', 15, 'ipv4'); // benchmarking
internal.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
internal.addSubnet('240.0.0.0', 4, 'ipv4'); // reserved, incl. broadcast
// IPv6 (the forms that embed an IPv4 address are judged as that address first, see below)
internal.addSubnet('::', 96, 'ipv6'); // unspecified, loopback and deprecated IPv4-compatible (::a.b.c.d)
internal.addSubnet('64:ff9b:1::', 48, 'ipv6'); // local-use NAT64: translates into private IPv4 space
internal.addSubnet('100::', 64, 'ipv6'); // discard-only
internal.addSubnet('2001::', 32, 'ipv6'); // Teredo: tunnels to an embedded IPv4 address
internal.addSubnet('2002::', 16, 'ipv6'); // 6to4: tunnels to an embedded IPv4 address
internal.addSubnet('fc00::', 7, 'ipv6'); // unique local
internal.addSubnet('fec0::', 10, 'ipv6'); // site-local (deprecated)
internal.addSubnet('ff00::', 8, 'ipv6'); // multicast

/** Cloud metadata services by name (they resolve to link-local addresses inside the cloud). */
const METADATA_HOSTNAMES = [/^metadata$/, /^metadata\.google\.internal$/, /^metadata\.goog$/, /^instance-data(\.|$)/];
const LOCAL_HOSTNAMES = [/^localhost$/, /\.localhost$/];

/** The eight 16-bit words of a valid IPv6 address (zone id dropped, dotted IPv4 tail converted). */
function ipv6Words(ip: string): number[] {
  let text = ip.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((w) => parseInt(w, 16));
}

/**
 * IPv4 carried inside IPv6, in any spelling (dotted or hex, as the URL parser prints it):
 * IPv4-mapped ::ffff:a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d and the well-known NAT64 prefix
 * 64:ff9b::a.b.c.d all reach that IPv4 address, so they are judged as it.
 */
function embeddedIPv4(ip: string): string | null {
  const w = ipv6Words(ip);
  const zeros = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  const mapped = zeros(0, 5) && w[5] === 0xffff;
  const translated = zeros(0, 4) && w[4] === 0xffff && w[5] === 0;
  const nat64 = w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6);
  if (!mapped && !translated && !nat64) return null;
  const [hi, lo] = [w[6]!, w[7]!];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

export interface GuardOptions {
  /** ALLOW_INSECURE_POWERSCHOOL: loopback and private addresses are allowed; link-local and metadata never. */
  insecure?: boolean;
}

/** True for any address the client must not connect to (and for anything that is not an IP). */
export function isForbiddenAddress(ip: string, opts: GuardOptions = {}): boolean {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const version = isIP(bare);
  if (version === 0) return true;
  if (version === 6) {
    const v4 = embeddedIPv4(bare);
    if (v4 !== null) return isForbiddenAddress(v4, opts);
  }
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const address = bare.replace(/%.*$/, '');
  return always.check(address, family) || (!opts.insecure && internal.check(address, family));
}

/**
 * Why a URL's host must not be called, or null: a forbidden literal address, a cloud metadata
 * name, or (unless insecure) a `localhost` name. Other names are judged after DNS (guardedLookup).
 */
export function hostProblem(hostname: string, opts: GuardOptions = {}): string | null {
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  if (isIP(host) !== 0) {
    return isForbiddenAddress(host, opts) ? 'must not be a loopback, private, link-local or metadata address' : null;
  }
  if (METADATA_HOSTNAMES.some((re) => re.test(host))) return 'must not be a cloud metadata service';
  if (!opts.insecure && LOCAL_HOSTNAMES.some((re) => re.test(host))) return 'must not point at a local host';
  return null;
}

export class ForbiddenAddressError extends Error {
  override name = 'ForbiddenAddressError';
  readonly code = 'EFORBIDDENADDRESS';
  constructor(readonly hostname: string) {
    super(`${hostname} resolves to an internal address; refusing to connect`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type LookupFunction = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

/** A drop-in for `dns.lookup` (as used by `net.connect`) that refuses forbidden addresses. */
export function createGuardedLookup(opts: GuardOptions = {}): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : '', undefined);
      const list = addresses as LookupAddress[];
      if (list.length === 0 || list.some((a) => isForbiddenAddress(a.address, opts))) {
        return callback(new ForbiddenAddressError(hostname), options.all ? [] : '', undefined);
      }
      if (options.all) return callback(null, list);
      const first = list[0]!;
      return callback(null, first.address, first.family);
    });
  };
}

/** The production lookup: every internal address refused. */
export const guardedLookup: LookupFunction = createGuardedLookup();
