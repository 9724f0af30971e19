import { describe, expect, it } from "vitest";
import { IsolateCache } from "../../src/platform/isolate-cache";

describe("IsolateCache", () => {
  it("serves fresh values until the TTL, then hands one request the refresh while others keep the old value", () => {
    const cache = new IsolateCache<string>(10, 5_000, 1_000);
    cache.set("k", "v1", 0);
    expect(cache.get("k", 4_999)).toBe("v1");
    expect(cache.get("k", 5_000)).toBeUndefined(); // this caller refreshes
    expect(cache.get("k", 5_001)).toBe("v1"); // others keep the stale value meanwhile
    expect(cache.get("k", 5_999)).toBe("v1");
    expect(cache.get("k", 6_000)).toBeUndefined(); // the refresh lease ran out: the next caller retries
    cache.set("k", "v2", 6_100);
    expect(cache.get("k", 6_200)).toBe("v2");
  });

  it("forgets long-expired entries instead of serving them stale", () => {
    const cache = new IsolateCache<string>(10, 5_000, 1_000);
    cache.set("k", "v1", 0);
    expect(cache.get("k", 60_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("evicts the least recently used entry beyond its size and invalidates by prefix", () => {
    const cache = new IsolateCache<number>(2, 5_000);
    cache.set("a", 1, 0);
    cache.set("b", 2, 0);
    expect(cache.get("a", 1)).toBe(1); // a is now most recent
    cache.set("c", 3, 1);
    expect(cache.get("b", 2)).toBeUndefined();
    expect(cache.get("a", 2)).toBe(1);
    cache.invalidatePrefix("a");
    expect(cache.get("a", 3)).toBeUndefined();
    expect(cache.get("c", 3)).toBe(3);
  });
});
