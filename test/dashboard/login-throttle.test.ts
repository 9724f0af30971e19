/** Failed sign-ins per client address (src/dashboard/login-throttle.ts), on an injected clock. */
import { describe, expect, it } from "vitest";
import { addressKey, LoginThrottle } from "../../src/dashboard/login-throttle";
import { LOGIN_FAILURE_WINDOW_MS, LOGIN_MAX_FAILURES } from "../../src/platform/limits";

describe("LoginThrottle", () => {
  it("lets an address fail LOGIN_MAX_FAILURES times, then refuses it until its window ends", () => {
    const t = new LoginThrottle();
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) expect(t.attempt("a", 1_000 + i)).toBe(0);
    expect(t.attempt("a", 61_000)).toBe(1_000 + LOGIN_FAILURE_WINDOW_MS - 61_000);
    expect(t.attempt("b", 61_000)).toBe(0);
    expect(t.attempt("a", 1_000 + LOGIN_FAILURE_WINDOW_MS - 1)).toBe(1);
    expect(t.attempt("a", 1_000 + LOGIN_FAILURE_WINDOW_MS)).toBe(0);
  });

  it("a success does not count, and does not forgive the failures before it", () => {
    const t = new LoginThrottle(3, 1_000, 100);
    expect(t.attempt("a", 0)).toBe(0);
    expect(t.attempt("a", 0)).toBe(0);
    expect(t.attempt("a", 0)).toBe(0);
    t.succeeded("a");
    expect(t.attempt("a", 0)).toBe(0);
    expect(t.attempt("a", 0)).toBe(1_000);
  });

  it("counts at most maxAddresses addresses: ended windows go first, then the oldest", () => {
    const t = new LoginThrottle(1, 1_000, 3);
    for (const a of ["a", "b", "c"]) t.attempt(a, 0);
    t.attempt("d", 500);
    expect(t.size).toBe(3);
    expect(t.attempt("a", 500)).toBe(0); // "a" was the oldest: dropped to make room, so it starts again
    expect(t.attempt("d", 600)).toBe(900);
    expect(t.attempt("b", 500)).toBe(0); // full again: "c" goes
    t.attempt("e", 2_000); // every window has ended by now: all are dropped before "e" is counted
    expect(t.size).toBe(1);
    expect(t.attempt("e", 2_000)).toBe(1_000);
  });
});

describe("addressKey", () => {
  it("keeps IPv4, counts IPv6 per /64, reads IPv4-mapped IPv6 as IPv4, and pools what does not parse", () => {
    expect(addressKey("198.51.100.7")).toBe("198.51.100.7");
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe(addressKey("2001:0db8:1:2:ffff:ffff:ffff:ffff"));
    expect(addressKey("2001:db8:1:2::1")).not.toBe(addressKey("2001:db8:1:3::1"));
    expect(addressKey("::ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(addressKey(undefined)).toBe("unknown");
    expect(addressKey("not an address")).toBe("unknown");
  });
});
