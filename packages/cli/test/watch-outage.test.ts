/**
 * `scoregate watch` runs until ^C: a server that stays down (every connection refused) or answers 429 is retried for
 * as long as it takes, where a service's stream would fall back to polling after a few failures and the command, with
 * nothing to poll, would end. Fake timers: an hour of outage in a few milliseconds.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { frame, gateEvent } from "../../client/test/sse-server";
import { run } from "../src/main";

const gate = ["--embedding", "e5", "--reranker", "bge"];

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-12-05T00:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

function watchWith(fetch: typeof globalThis.fetch) {
  let stdout = "";
  let stderr = "";
  const stop = new AbortController();
  const done = run(["watch", ...gate], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: { SCOREGATE_URL: "http://scoregate.test", SCOREGATE_TOKEN: "dev-read" },
    fetch,
    signal: stop.signal,
  });
  let exit: number | undefined;
  void done.then((code) => {
    exit = code;
  });
  return { done, stop, exit: () => exit, stderr: () => stderr, stdout: () => stdout };
}

describe("watch through an outage", () => {
  it("keeps reconnecting while the server stays down for an hour, at most 15 s apart, and ^C ends it with 0", async () => {
    const attempts: number[] = [];
    const w = watchWith(async () => {
      attempts.push(Date.now());
      throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    });
    for (let i = 0; i < 3600; i++) await vi.advanceTimersByTimeAsync(1000);
    expect(w.exit()).toBeUndefined();
    expect(attempts.length).toBeGreaterThan(200);
    // never reached: said once, with the URL, as every other command says it; then quiet retries
    expect(w.stderr()).toBe(
      [
        "scoregate: could not reach http://scoregate.test (ECONNREFUSED)",
        "  is the server running and the URL right? set --url or SCOREGATE_URL (locally: npm start serves http://localhost:8787)",
        "  retrying until it answers (^C stops)",
        "",
      ].join("\n"),
    );
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(15_000);
    w.stop.abort();
    expect(await w.done).toBe(0);
  });

  it("waits out a 429 and streams once the server takes it", async () => {
    let calls = 0;
    const encoder = new TextEncoder();
    const w = watchWith(async () => {
      calls += 1;
      if (calls <= 6) return new Response(JSON.stringify({ error: { code: "rate_limited", message: "slow down" } }), { status: 429 });
      const event = { seq: 3, kind: "activated", gate_id: "g", at: "2026-12-05T00:00:00Z", served: null, reason: null };
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(encoder.encode(`id: 3\nevent: gate\ndata: ${JSON.stringify(event)}\n\n`));
        },
      });
      return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
    });
    for (let i = 0; i < 400; i++) await vi.advanceTimersByTimeAsync(1000);
    expect(w.exit()).toBeUndefined();
    expect(calls).toBeGreaterThan(6);
    expect(w.stderr()).toMatch(/-- 429.*; retrying the stream later/u);
    expect(w.stderr()).not.toContain("cannot watch");
    w.stop.abort();
    expect(await w.done).toBe(0);
  });
});

describe("watch when a connected server goes down", () => {
  it('says "connection lost" once an outage, however many retries, and "reconnected" when it is back', async () => {
    const encoder = new TextEncoder();
    let calls = 0;
    let down = false;
    const stream = (seq: number) => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(encoder.encode(frame(gateEvent(seq, seq - 1))));
          // the first connection ends (the server stops); the second stays open
          if (seq === 3) c.close();
        },
      });
      return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
    };
    const w = watchWith(async () => {
      calls += 1;
      if (calls === 1) {
        down = true;
        return stream(3);
      }
      if (down) throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
      return stream(4);
    });
    // ten minutes down
    for (let i = 0; i < 600; i++) await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBeGreaterThan(20);
    down = false;
    for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(1000);
    expect(w.stdout()).toContain("4 activation");
    expect(w.stderr()).toBe(["-- connection lost (the server closed the stream); reconnecting", "-- reconnected, resumed after 3", ""].join("\n"));
    w.stop.abort();
    expect(await w.done).toBe(0);
  });
});

describe("watch with a token the server refuses", () => {
  it.each([
    [
      401,
      "unauthorized",
      "scoregate: 401 unauthorized: the token is missing or unknown",
      "set SCOREGATE_TOKEN (or --token) to a token of this server",
    ],
    [403, "forbidden", "scoregate: 403 forbidden: this token's scope does not allow it", "watch needs a read token (locally: dev-read)"],
  ])("%i ends it with 2 in the other commands' words", async (status, code, line, hint) => {
    const w = watchWith(async () => new Response(JSON.stringify({ error: { code, message: "unknown bearer token" } }), { status }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(await w.done).toBe(2);
    expect(w.stderr()).toContain(line);
    expect(w.stderr()).toContain(hint);
  });
});
