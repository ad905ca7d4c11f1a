/**
 * Which client a request comes from, for per-client limits (R20). `X-Forwarded-For` is believed only when
 * the immediate peer is a configured trusted proxy, and then only the hop just before the trusted ones —
 * entries a client wrote itself are never used. Addresses are canonicalised (IPv4-mapped IPv6 unwrapped,
 * IPv6 compressed by the URL parser) and IPv6 clients are keyed per /64, the block one subscriber
 * usually controls, so rotating addresses inside it does not reset a limit (CVE-2026-45364 class).
 */
import { BlockList, isIP } from 'node:net';

export interface ClientIpResolver {
  /** The canonical client address (for logs and session records). */
  resolve(peer: string | null | undefined, forwardedFor: string | null | undefined): string | null;
  /** The key limits count against: the address itself for IPv4, its /64 for IPv6. */
  limitKey(ip: string): string;
}

export function canonicalIp(raw: string): string | null {
  let ip = raw.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  const kind = isIP(ip);
  if (kind === 4) return ip;
  if (kind !== 6) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1] && isIP(mapped[1]) === 4) return mapped[1];
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
}

function expandIpv6(ip: string): string[] {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const fill = tail !== undefined ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0'));
}

export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [addr, bits] = entry.split('/') as [string, string | undefined];
    const canon = canonicalIp(addr);
    if (!canon) continue;
    const type = isIP(canon) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(canon, type);
    else trusted.addSubnet(canon, Number(bits), type);
  }
  const isTrusted = (ip: string) => trusted.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');

  return {
    resolve(peer, forwardedFor) {
      const peerIp = peer ? canonicalIp(peer) : null;
      if (!peerIp) return null;
      if (!forwardedFor || !isTrusted(peerIp)) return peerIp;
      // Walk from the right: skip our own trusted proxies; the first untrusted hop is the client.
      const hops = forwardedFor.split(',').slice(-20);
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = canonicalIp(hops[i] ?? '');
        if (!hop) return peerIp;
        if (!isTrusted(hop)) return hop;
      }
      return peerIp;
    },
    limitKey(ip) {
      return isIP(ip) === 6 ? `${expandIpv6(ip).slice(0, 4).join(':')}::/64` : ip;
    },
  };
}
