/**
 * Which webhook URLs are allowed. Production: https only, and never a private, loopback, link-local or otherwise
 * non-public address literal, nor a name that only resolves inside a network (localhost, *.local, *.internal).
 * Development and tests may use http://localhost and loopback addresses for a local receiver.
 * Names are not resolved here (Workers cannot resolve DNS); Cloudflare's edge does not route to private networks.
 */
import { invalid } from "../platform/errors";

const PRIVATE_V4: readonly [number, number][] = [
  // [network as 32-bit int, prefix length]
  [0x00000000, 8], // 0.0.0.0/8 "this network"
  [0x0a000000, 8], // 10/8
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x7f000000, 8], // 127/8 loopback
  [0xa9fe0000, 16], // 169.254/16 link-local (cloud metadata)
  [0xc0000000, 24], // 192.0.0/24 IETF protocol assignments
  [0xc0000200, 24], // 192.0.2/24 documentation (TEST-NET-1)
  [0xc6336400, 24], // 198.51.100/24 documentation (TEST-NET-2)
  [0xcb007100, 24], // 203.0.113/24 documentation (TEST-NET-3)
  [0xac100000, 12], // 172.16/12
  [0xc0a80000, 16], // 192.168/16
  [0xc6120000, 15], // 198.18/15 benchmarking
  [0xe0000000, 3], // 224/3 multicast and reserved
];

function ipv4(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/u.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function isNonPublicHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/gu, "")
    .replace(/\.$/u, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) return true;
  const v4 = ipv4(host);
  if (v4 !== null) return PRIVATE_V4.some(([net, bits]) => (v4 & (bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0)) >>> 0 === net);
  if (host.includes(":")) {
    // IPv6 literal: loopback, unspecified, unique-local fc00::/7, link-local fe80::/10, IPv4-mapped ::ffff:a.b.c.d
    if (host === "::1" || host === "::") return true;
    // NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible form (::a.b.c.d, parsed to ::hhhh:hhhh) embed an IPv4
    // address that a gateway may route to: refuse them outright rather than decode the embedded address.
    if (host.startsWith("64:ff9b:") || /^::[0-9a-f]{1,4}:[0-9a-f]{1,4}$/u.test(host) || /^::\d+\.\d+\.\d+\.\d+$/u.test(host)) return true;
    // unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10, 6to4 2002::/16, documentation 2001:db8::/32
    if (/^f[cd][0-9a-f]{2}:/u.test(host) || /^fe[89a-f][0-9a-f]:/u.test(host)) return true;
    if (host.startsWith("2002:") || host.startsWith("2001:db8:")) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/u.exec(host);
    if (mapped) return isNonPublicHost(mapped[1]!);
    const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/u.exec(host);
    if (mappedHex) {
      const n = ((parseInt(mappedHex[1]!, 16) << 16) | parseInt(mappedHex[2]!, 16)) >>> 0;
      return isNonPublicHost(`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`);
    }
  }
  return false;
}

/** Throws a 422 unless `raw` is an acceptable webhook target in this environment; returns the normalized URL. */
export function checkWebhookUrl(raw: string, production: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(`${JSON.stringify(raw)} is not a URL`, [{ path: "url", message: "not a URL" }]);
  }
  if (url.username !== "" || url.password !== "")
    throw invalid("webhook URLs must not embed credentials", [{ path: "url", message: "credentials in URL" }]);
  if (production) {
    if (url.protocol !== "https:") throw invalid("production webhooks must use https://", [{ path: "url", message: "not https" }]);
    if (isNonPublicHost(url.hostname)) {
      throw invalid(`${url.hostname} is a private, loopback or link-local address: production refuses it`, [
        { path: "url", message: "non-public host" },
      ]);
    }
  } else if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw invalid("webhook URLs must be http:// or https://", [{ path: "url", message: "unsupported scheme" }]);
  }
  return url.toString();
}
