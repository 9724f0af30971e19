// Arm assignment (src/assignment.ts): the reference algorithm's published vectors, the shared table the Python client
// also reproduces (fixtures/assignment.json, made by fixtures/assignment-generate.py), and the balance of the buckets
// over 100,000 keys of three shapes: each step's share within its binomial 99.9 % interval, a chi-square over 100
// equal buckets, nesting of the steps and independence of two salts.
import { readFileSync } from "node:fs";
import chisquareQuantile from "@stdlib/stats-base-dists-chisquare-quantile";
import { describe, expect, it } from "vitest";
import { binomIsf, binomPpf } from "../../../src/stats/special";
import { BASIS_POINTS, bucketOf, murmur3 } from "../src/assignment";
import { createRng } from "./fake-server";

interface Fixture {
  published: { input: string; seed: number; hash: number }[];
  cases: [salt: string, key: string, hash: number, bucket: number][];
}

const fixture = JSON.parse(readFileSync(new URL("../../../fixtures/assignment.json", import.meta.url), "utf8")) as Fixture;
const utf8 = new TextEncoder();
const KEYS = 100_000;

/** Keys shaped like what callers pass: sequential user ids, UUIDv4 (from a seeded generator), e-mail addresses. */
function keyShapes(): Record<string, string[]> {
  const rng = createRng(20);
  const hex = (digits: number) => Array.from({ length: digits }, () => Math.floor(rng.next() * 16).toString(16)).join("");
  const ids = Array.from({ length: KEYS }, (_, i) => `user-${i}`);
  const uuids = Array.from(
    { length: KEYS },
    () => `${hex(8)}-${hex(4)}-4${hex(3)}-${(8 + Math.floor(rng.next() * 4)).toString(16)}${hex(3)}-${hex(12)}`,
  );
  const emails = Array.from({ length: KEYS }, (_, i) => `${["ana", "bob", "zoë", "jürgen"][i % 4]}.${i}@example.org`);
  return { ids, uuids, emails };
}

/** The count's two-sided 99.9 % binomial interval under share p. */
function interval(n: number, p: number): [number, number] {
  return [binomPpf(0.0005, n, p), binomIsf(0.0005, n, p)];
}

describe("murmur3 (x86_32)", () => {
  it("reproduces the reference's published vectors", () => {
    expect(fixture.published.length).toBeGreaterThanOrEqual(6);
    for (const v of fixture.published) expect(murmur3(utf8.encode(v.input), v.seed)).toBe(v.hash);
  });

  it("reproduces every hash and bucket of the shared table (non-ASCII keys and every tail length included)", () => {
    expect(fixture.cases.length).toBe(2000);
    const tails = new Set<number>();
    let nonAscii = 0;
    for (const [salt, key, hash, bucket] of fixture.cases) {
      const bytes = utf8.encode(`${salt}:${key}`);
      tails.add(bytes.length & 3);
      if (bytes.length !== `${salt}:${key}`.length) nonAscii += 1;
      expect(murmur3(bytes)).toBe(hash);
      expect(bucketOf(salt, key)).toBe(bucket);
    }
    expect([...tails].sort()).toEqual([0, 1, 2, 3]);
    expect(nonAscii).toBeGreaterThan(100);
  });
});

// 300,000 keys hashed once for the whole block (a few seconds on a loaded machine: hence the block's timeout, which
// bounds nothing the tests assert)
describe("bucketOf balance over 100,000 keys", { timeout: 60_000 }, () => {
  const shapes = keyShapes();
  const salt = "prm_7f3a9c2e1b";
  const bucketsOf = new Map<string, number[]>();
  const buckets = (shape: string) => {
    let b = bucketsOf.get(shape);
    if (b === undefined) {
      b = shapes[shape]!.map((k) => bucketOf(salt, k));
      bucketsOf.set(shape, b);
    }
    return b;
  };

  for (const shape of Object.keys(shapes)) {
    it(`${shape}: steps 10, 50 and 100 % take their share; 100 equal buckets pass a chi-square at p > 0.001`, () => {
      const all = buckets(shape);
      expect(all.every((b) => b >= 0 && b < BASIS_POINTS && Number.isInteger(b))).toBe(true);
      for (const percent of [10, 50]) {
        const inArm = all.filter((b) => b < percent * 100).length;
        const [lo, hi] = interval(KEYS, percent / 100);
        expect(inArm).toBeGreaterThanOrEqual(lo);
        expect(inArm).toBeLessThanOrEqual(hi);
      }
      expect(all.filter((b) => b < 100 * 100).length).toBe(KEYS);
      const counts = new Array<number>(100).fill(0);
      for (const b of all) counts[Math.floor(b / 100)]! += 1;
      const expected = KEYS / 100;
      const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
      expect(chi2).toBeLessThan(chisquareQuantile(0.999, 99));
    });
  }

  it("nests: a key in the arm at 10 % is in it at 50 % (the same bucket, a larger cut)", () => {
    let in10 = 0;
    for (const b of buckets("ids")) {
      if (b < 1000) {
        in10 += 1;
        expect(b < 5000).toBe(true);
      }
    }
    expect(in10).toBeGreaterThan(0);
  });

  it("two salts assign independently: the share in both arms is about p1 * p2", () => {
    const other = "prm_0000000001";
    const own = buckets("uuids");
    const both = shapes.uuids!.filter((k, i) => own[i]! < 5000 && bucketOf(other, k) < 1000).length;
    const [lo, hi] = interval(KEYS, 0.5 * 0.1);
    expect(both).toBeGreaterThanOrEqual(lo);
    expect(both).toBeLessThanOrEqual(hi);
  });
});
