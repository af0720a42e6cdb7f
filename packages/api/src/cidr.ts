// CIDR arithmetic for the network rules: parse, host bits, containment and overlap, for IPv4 and
// IPv6. Pure and browser-safe (bigint, no node:net).

export type IpFamily = 'IPv4' | 'IPv6';

export interface Cidr {
  family: IpFamily;
  /** The address as written, as an unsigned integer of 32 or 128 bits. */
  address: bigint;
  prefixLength: number;
  /** The first address of the range (address with host bits cleared). */
  network: bigint;
  /** Total bits of the family: 32 or 128. */
  bits: number;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; reason: string };

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // No leading zeros: 010 is octal to some tools and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): string[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    const last = groups[groups.length - 1] ?? '';
    if (last.includes('.')) {
      const v4 = parseIpv4(last);
      if (v4 === undefined) return undefined;
      groups.splice(groups.length - 1, 1, ((v4 >> 16n) & 0xffffn).toString(16), (v4 & 0xffffn).toString(16));
    }
    return groups;
  };
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const present = head.length + tail.length;
  if (halves.length === 1 ? present !== 8 : present > 7) return undefined;
  const groups = [...head, ...Array<string>(8 - present).fill('0'), ...tail];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  if (slash < 0)
    return { ok: false, reason: 'must be a CIDR: an address and a prefix length, like 10.0.0.0/16' };
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const family: IpFamily | undefined = addressText.includes(':')
    ? 'IPv6'
    : addressText.includes('.')
      ? 'IPv4'
      : undefined;
  const address =
    family === 'IPv6' ? parseIpv6(addressText) : family === 'IPv4' ? parseIpv4(addressText) : undefined;
  if (family === undefined || address === undefined) {
    return { ok: false, reason: 'must be a CIDR with a valid IPv4 or IPv6 address, like 10.0.0.0/16' };
  }
  const bits = family === 'IPv4' ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return { ok: false, reason: `must have a prefix length from 0 to ${bits}` };
  }
  const prefixLength = Number(prefixText);
  const hostMask = (1n << BigInt(bits - prefixLength)) - 1n;
  return { ok: true, cidr: { family, address, prefixLength, network: address & ~hostMask, bits } };
}

export function formatAddress(value: bigint, family: IpFamily): string {
  if (family === 'IPv4') {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  // Compress the longest run of two or more zero groups (RFC 5952).
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

export function formatCidr(cidr: Pick<Cidr, 'network' | 'prefixLength' | 'family'>): string {
  return `${formatAddress(cidr.network, cidr.family)}/${cidr.prefixLength}`;
}

/** True when the address has bits set after the prefix, e.g. 10.0.0.1/24. */
export function hasHostBits(cidr: Cidr): boolean {
  return cidr.address !== cidr.network;
}

function lastAddress(cidr: Cidr): bigint {
  return cidr.network + (1n << BigInt(cidr.bits - cidr.prefixLength)) - 1n;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

/** Number of addresses in the range, as a bigint (an IPv6 /64 does not fit a number). */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(cidr.bits - cidr.prefixLength);
}
