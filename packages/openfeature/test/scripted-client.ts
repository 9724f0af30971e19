// A ScoregateClient on a scripted server (fake-server.ts) with a manual clock, seeded jitter, a short timeout and its
// background requests collected, so a test decides when they have run (`settle`) and how much time passes (`advance`).
import { ScoregateClient } from "@scoregate/client";
import { createRng, type fakeServer } from "../../client/test/fake-server";

export function scriptedClient(server: ReturnType<typeof fakeServer>, seed: number, extra: { maxGates?: number } = {}) {
  let clock = Date.parse("2026-06-01T00:00:00Z");
  const background: Promise<unknown>[] = [];
  const rng = createRng(seed);
  const client = new ScoregateClient({
    baseUrl: "https://scoregate.test",
    token: "read-token",
    fetch: server.fetch,
    now: () => clock,
    random: () => rng.next(),
    timeoutMs: 200,
    waitUntil: (p) => background.push(p),
    observations: { timer: false },
    ...extra,
  });
  return {
    client,
    advance: (ms: number) => {
      clock += ms;
    },
    /** Runs the background requests started so far, then one turn of the event loop (the provider's deferred events). */
    settle: async () => {
      while (background.length > 0) await background.shift();
      await new Promise((r) => setTimeout(r, 0));
    },
  };
}
