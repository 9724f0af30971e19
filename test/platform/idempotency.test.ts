import { describe, expect, it } from "vitest";
import { AppError } from "../../src/platform/errors";
import { once } from "../../src/platform/idempotency";
import { IDEMPOTENCY_LOCK_MS, IDEMPOTENCY_TTL_MS } from "../../src/platform/limits";
import { MemoryIdempotencyStore } from "../support/memory-idempotency-store";

const T0 = new Date(Date.UTC(2026, 10, 24, 12));
const at = (ms: number) => new Date(T0.getTime() + ms);

describe("once (Idempotency-Key, Stripe semantics) over the store interface", () => {
  it("runs a request once per key and replays the first response to a retry", async () => {
    const store = new MemoryIdempotencyStore();
    let runs = 0;
    const run = async () => ({ status: 201, body: { n: ++runs } });
    expect(await once(store, "ci", "k1", "h", T0, run)).toEqual({ status: 201, body: { n: 1 }, replayed: false });
    expect(await once(store, "ci", "k1", "h", at(1000), run)).toEqual({ status: 201, body: { n: 1 }, replayed: true });
    expect(runs).toBe(1);
    // keys belong to the token name that used them
    expect(await once(store, "other", "k1", "h", at(2000), run)).toMatchObject({ body: { n: 2 }, replayed: false });
  });

  it("refuses the same key with a different request (422) and a key still in flight (409 idempotency_in_progress)", async () => {
    const store = new MemoryIdempotencyStore();
    await once(store, "ci", "k", "h1", T0, async () => ({ status: 201, body: {} }));
    await expect(once(store, "ci", "k", "h2", at(1), async () => ({ status: 201, body: {} }))).rejects.toMatchObject({
      code: "idempotency_mismatch",
    });
    let release!: () => void;
    const first = once(
      store,
      "ci",
      "slow",
      "h",
      T0,
      () => new Promise<{ status: 201; body: object }>((r) => (release = () => r({ status: 201, body: {} }))),
    );
    await expect(once(store, "ci", "slow", "h", at(1), async () => ({ status: 201, body: {} }))).rejects.toMatchObject({
      code: "idempotency_in_progress",
    });
    release();
    await first;
  });

  it("releases the key of a failed request, so a corrected retry runs", async () => {
    const store = new MemoryIdempotencyStore();
    const failed = once(store, "ci", "k", "h", T0, async () => {
      throw new AppError("invalid_input", "bad scores");
    });
    await expect(failed).rejects.toMatchObject({ code: "invalid_input" });
    expect(await once(store, "ci", "k", "h", at(1), async () => ({ status: 201, body: { ok: true } }))).toMatchObject({ replayed: false });
  });

  it("takes over a key whose first request died (lock expired) and forgets keys after their retention", async () => {
    const store = new MemoryIdempotencyStore();
    void once(store, "ci", "dead", "h", T0, () => new Promise(() => {})); // never finishes
    await Promise.resolve();
    expect(await once(store, "ci", "dead", "h", at(IDEMPOTENCY_LOCK_MS + 1), async () => ({ status: 201, body: 1 }))).toMatchObject({
      replayed: false,
    });
    await once(store, "ci", "old", "h1", T0, async () => ({ status: 201, body: 1 }));
    expect(await once(store, "ci", "old", "h2", at(IDEMPOTENCY_TTL_MS + 1), async () => ({ status: 201, body: 2 }))).toMatchObject({ body: 2 });
    // retention: keys created before the cut-off are forgotten, younger ones kept
    expect(await store.purge(at(IDEMPOTENCY_LOCK_MS + 2).toISOString())).toBe(1);
    expect(await once(store, "ci", "old", "h2", at(IDEMPOTENCY_TTL_MS + 2), async () => ({ status: 201, body: 3 }))).toMatchObject({
      body: 2,
      replayed: true,
    });
  });

  it("checks the key's length before touching the store", async () => {
    const store = new MemoryIdempotencyStore();
    await expect(once(store, "ci", "", "h", T0, async () => ({ status: 201, body: {} }))).rejects.toMatchObject({ code: "bad_request" });
    await expect(once(store, "ci", "x".repeat(256), "h", T0, async () => ({ status: 201, body: {} }))).rejects.toMatchObject({ code: "bad_request" });
  });
});
