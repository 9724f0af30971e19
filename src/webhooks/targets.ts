/**
 * Which webhook URLs are allowed.
 *
 * Production: https only, and never an address that is not globally reachable, nor a name that only resolves inside a
 * network. Address literals are classified with ipaddr.js (a maintained implementation of the IANA IPv4 and IPv6
 * special-purpose registries: private, loopback, link-local, CGN, documentation, benchmarking, reserved, broadcast,
 * multicast, the discard prefix 100::/64, unique-local, site-local, and every form that embeds an IPv4 address:
 * IPv4-mapped, IPv4-translated, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 and Teredo); anything it does not call
 * plain "unicast" is refused, plus the IPv4-compatible ::/96 form, which it files as unicast. A few registry entries
 * that are globally reachable (AS112, AMT, ORCHIDv2, 2001::/23 assignments) are refused too: no real webhook receiver
 * lives there, and refusing is the safe side.
 *
 * Development and tests: loopback only (localhost, 127.0.0.0/8, ::1), http or https, for a local receiver; never the
 * wider network or the cloud metadata address.
 *
 * What a Worker cannot check: names are not resolved here (Workers have no DNS API), so a public name that resolves to
 * a private address passes. On Cloudflare's network that matters less: a Worker's fetch() leaves from Cloudflare's
 * edge, which has no route into the deployer's private networks, and Cloudflare refuses fetches to its own internal
 * addresses. docs/reliability.md#webhook-targets says the same for operators.
 */
import ipaddr from "ipaddr.js";
import { invalid } from "../platform/errors";

/** Names that only resolve inside a network (RFC 6761 localhost, RFC 6762 .local, RFC 8375 home.arpa, .internal). */
const PRIVATE_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa"];

/** Lowercased, without IPv6 brackets and without any number of trailing dots ("localhost..." is localhost). */
function bareHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[|\]$/gu, "")
    .replace(/\.+$/u, "");
}

/** The address of an IP literal host, or null for a name. */
function addressOf(host: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) return ipaddr.IPv4.parse(host);
  if (host.includes(":") && ipaddr.IPv6.isValid(host)) return ipaddr.IPv6.parse(host);
  return null;
}

/** True for an IPv6 address whose first 96 bits are zero: the deprecated IPv4-compatible form (and :: and ::1). */
const isIpv4Compatible = (a: ipaddr.IPv6): boolean => a.parts.slice(0, 6).every((p) => p === 0);

export function isNonPublicHost(hostname: string): boolean {
  const host = bareHost(hostname);
  if (host === "" || host === "localhost" || PRIVATE_SUFFIXES.some((s) => host.endsWith(s))) return true;
  const address = addressOf(host);
  if (address === null) return false;
  if (address.kind() === "ipv6" && isIpv4Compatible(address as ipaddr.IPv6)) return true;
  return address.range() !== "unicast";
}

/** Loopback only: what development and tests may post to. */
export function isLoopbackHost(hostname: string): boolean {
  const host = bareHost(hostname);
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const address = addressOf(host);
  if (address === null) return false;
  if (address.kind() === "ipv6") {
    const v6 = address as ipaddr.IPv6;
    return v6.range() === "loopback" || (v6.isIPv4MappedAddress() && v6.toIPv4Address().range() === "loopback");
  }
  return address.range() === "loopback";
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
      throw invalid(
        `${url.hostname} is not a globally reachable host (private, loopback, link-local, reserved, multicast or an embedded IPv4 form): production refuses it`,
        [{ path: "url", message: "non-public host" }],
      );
    }
  } else {
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw invalid("webhook URLs must be http:// or https://", [{ path: "url", message: "unsupported scheme" }]);
    }
    if (!isLoopbackHost(url.hostname)) {
      throw invalid(`outside production only a local receiver is accepted (localhost, 127.0.0.0/8 or ::1), not ${url.hostname}`, [
        { path: "url", message: "not loopback" },
      ]);
    }
  }
  return url.toString();
}
