/**
 * The webhook target guard as a table: every entry of the IANA IPv4 and IPv6 special-purpose registries that is not
 * globally reachable, every IPv6 form that embeds an IPv4 address, multicast, names that only resolve inside a
 * network, and any number of trailing dots are refused in production; public hosts pass.
 */
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/platform/errors";
import { checkWebhookUrl } from "../../src/webhooks/targets";

const refused = (url: string, production = true): boolean => {
  try {
    checkWebhookUrl(url, production);
    return false;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return true;
  }
};

// [host as it appears in a URL, the registry entry or reason]
const NOT_GLOBAL: [string, string][] = [
  ["0.0.0.0", "0.0.0.0/8 this network"],
  ["0.1.2.3", "0.0.0.0/8 this network"],
  ["10.1.2.3", "10.0.0.0/8 private"],
  ["100.64.0.1", "100.64.0.0/10 shared address space (CGN)"],
  ["100.127.255.254", "100.64.0.0/10 shared address space (CGN)"],
  ["127.0.0.1", "127.0.0.0/8 loopback"],
  ["127.255.255.254", "127.0.0.0/8 loopback"],
  ["169.254.169.254", "169.254.0.0/16 link-local (cloud metadata)"],
  ["172.16.0.1", "172.16.0.0/12 private"],
  ["172.31.255.254", "172.16.0.0/12 private"],
  ["192.0.0.8", "192.0.0.0/24 IETF protocol assignments"],
  ["192.0.0.170", "192.0.0.170/32 NAT64/DNS64 discovery"],
  ["192.0.2.1", "192.0.2.0/24 documentation (TEST-NET-1)"],
  ["192.88.99.1", "192.88.99.0/24 deprecated 6to4 relay anycast"],
  ["192.168.0.1", "192.168.0.0/16 private"],
  ["198.18.0.1", "198.18.0.0/15 benchmarking"],
  ["198.19.255.254", "198.18.0.0/15 benchmarking"],
  ["198.51.100.1", "198.51.100.0/24 documentation (TEST-NET-2)"],
  ["203.0.113.1", "203.0.113.0/24 documentation (TEST-NET-3)"],
  ["224.0.0.1", "224.0.0.0/4 multicast"],
  ["239.255.255.250", "224.0.0.0/4 multicast"],
  ["240.0.0.1", "240.0.0.0/4 reserved"],
  ["255.255.255.255", "255.255.255.255/32 limited broadcast"],
  ["2130706433", "127.0.0.1 as one number (the URL parser normalizes it)"],
  ["0x7f.1", "127.0.0.1 in hex shorthand"],
  ["[::]", "::/128 unspecified"],
  ["[::1]", "::1/128 loopback"],
  ["[::ffff:127.0.0.1]", "::ffff:0:0/96 IPv4-mapped"],
  ["[::ffff:8.8.8.8]", "::ffff:0:0/96 IPv4-mapped (even of a public address: refused outright)"],
  ["[::ffff:0:7f00:1]", "::ffff:0:0:0/96 IPv4-translated"],
  ["[::127.0.0.1]", "::/96 IPv4-compatible (deprecated)"],
  ["[::a9fe:a9fe]", "::/96 IPv4-compatible (deprecated)"],
  ["[64:ff9b::7f00:1]", "64:ff9b::/96 NAT64"],
  ["[64:ff9b::8.8.8.8]", "64:ff9b::/96 NAT64"],
  ["[64:ff9b:1::1]", "64:ff9b:1::/48 local-use NAT64"],
  ["[100::1]", "100::/64 discard-only"],
  ["[2001::1]", "2001::/32 Teredo"],
  ["[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "2001::/32 Teredo"],
  ["[2001:2::1]", "2001:2::/48 benchmarking"],
  ["[2001:db8::1]", "2001:db8::/32 documentation"],
  ["[2001:10::1]", "2001:10::/28 deprecated ORCHID"],
  ["[2002:7f00:1::1]", "2002::/16 6to4"],
  ["[2002:c0a8:101::1]", "2002::/16 6to4"],
  ["[3fff::1]", "3fff::/20 documentation"],
  ["[5f00::1]", "5f00::/16 segment routing SIDs"],
  ["[fc00::1]", "fc00::/7 unique-local"],
  ["[fd12:3456::1]", "fc00::/7 unique-local"],
  ["[fe80::1]", "fe80::/10 link-local"],
  ["[febf::1]", "fe80::/10 link-local"],
  ["[fec0::1]", "fec0::/10 site-local (deprecated)"],
  ["[ff02::1]", "ff00::/8 multicast"],
  ["[ff0e::1]", "ff00::/8 multicast"],
  ["localhost", "localhost (RFC 6761)"],
  ["LOCALHOST.", "localhost with a trailing dot"],
  ["localhost...", "localhost with several trailing dots"],
  ["127.0.0.1..", "a loopback literal with trailing dots"],
  ["foo.localhost", "*.localhost"],
  ["printer.local", "*.local (mDNS)"],
  ["x.internal", "*.internal"],
  ["metadata.google.internal..", "*.internal with trailing dots"],
  ["nas.home.arpa", "*.home.arpa (RFC 8375)"],
];

const PUBLIC: string[] = [
  "hooks.slack.com",
  "hooks.example.com",
  "1.1.1.1",
  "8.8.8.8",
  "11.0.0.1",
  "100.128.0.1",
  "169.255.0.1",
  "172.32.0.1",
  "192.169.0.1",
  "198.20.0.1",
  "223.255.255.254",
  "[2606:4700:4700::1111]",
  "[2a00:1450:4001:82a::200e]",
  "example.localhost.com",
  "hooks.example.com.",
];

describe("webhook target guard (production)", () => {
  it.each(NOT_GLOBAL)("refuses %s (%s)", (host) => {
    expect(refused(`https://${host}/hook`)).toBe(true);
  });

  it.each(PUBLIC)("accepts %s", (host) => {
    expect(refused(`https://${host}/hook`)).toBe(false);
  });
});

describe("webhook target guard (development and tests)", () => {
  it.each(["localhost", "localhost.", "127.0.0.1", "127.1.2.3", "[::1]", "[::ffff:127.0.0.1]", "app.localhost"])(
    "accepts the loopback host %s",
    (host) => {
      expect(refused(`http://${host}:8787/hook`, false)).toBe(false);
    },
  );

  it.each(["hooks.example.com", "169.254.169.254", "10.0.0.1", "[fd00::1]", "x.internal", "8.8.8.8"])("refuses the non-loopback host %s", (host) => {
    expect(refused(`http://${host}/hook`, false)).toBe(true);
  });
});
