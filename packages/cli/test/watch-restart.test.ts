/**
 * `scoregate watch` after the server's state is reset (seq goes back): `rm -rf .wrangler/state` and `npm start` under a
 * running watch, or a database restored to an earlier minute, numbers events from a lower seq than the watch has
 * printed. The watch says the history restarted and shows the new one from its current state, instead of dropping
 * every event as already seen. Against the stub of the events route on a real local HTTP server.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Connection, frame, gateEvent, heartbeat, type SseStub, startSseStub } from "../../client/test/sse-server";
import { type Io, run } from "../src/main";

const GATE = ["--embedding", "e5", "--reranker", "bge", "--index", "docs"];
const WAIT = { timeout: 8000, interval: 5 };
const RESTARTED = "-- the server's event history restarted (a new state?); showing its current state";
let sse: SseStub | undefined;

afterEach(async () => {
  await sse?.close();
  sse = undefined;
});

/** Runs watch until `stop`; `log` interleaves both outputs (stderr lines prefixed `!`) in the order written. */
function watch(url: string) {
  const out = { stdout: "", stderr: "", log: [] as string[] };
  const interrupt = new AbortController();
  const io: Io = {
    stdout: {
      write: (s: string) => {
        out.stdout += s;
        out.log.push(...s.split("\n").filter(Boolean));
      },
    },
    stderr: {
      write: (s: string) => {
        out.stderr += s;
        out.log.push(
          ...s
            .split("\n")
            .filter(Boolean)
            .map((l) => `! ${l}`),
        );
      },
      isTTY: false,
    },
    env: { SCOREGATE_URL: url, SCOREGATE_TOKEN: "read-token" },
    signal: interrupt.signal,
    watchBackoff: { initialMs: 5, maxMs: 20 },
    watchRetryMs: 5,
  };
  return { out, done: run(["watch", ...GATE], io), stop: () => interrupt.abort() };
}

describe("scoregate watch after the server's state is reset (seq goes back)", () => {
  it("the server answers the resume with an older snapshot: says the history restarted, then shows the new history", async () => {
    sse = await startSseStub((c, n) => {
      c.open();
      if (n === 1) {
        c.send(frame(gateEvent(20, 0, "cal_old", 0.15), "snapshot") + frame(gateEvent(26, 20, "cal_older", 0.2)));
        setTimeout(() => c.destroy(), 10);
      } else c.send(frame(gateEvent(7, 6, "cal_new", 0.33), "snapshot") + heartbeat(7) + frame(gateEvent(8, 7, "cal_newer", 0.4)));
    });
    const w = watch(sse.url);
    await vi.waitFor(() => expect(w.out.stdout).toContain("8 activation"), WAIT);
    w.stop();
    expect(await w.done).toBe(0);
    expect(w.out.log).toEqual([
      "-- snapshot",
      "20 activation            cal_old threshold 0.15",
      "26 activation            cal_older threshold 0.2",
      expect.stringMatching(/^! -- connection lost \(.*\); reconnecting$/u),
      "! -- reconnected, resumed after 26",
      `! ${RESTARTED}`,
      "-- snapshot",
      "7 activation            cal_new threshold 0.33",
      "8 activation            cal_newer threshold 0.4",
    ]);
    expect(sse.connections.map((c) => c.lastEventId)).toEqual([undefined, "26"]);
  });

  it.each([
    [
      "fails",
      (c: Connection) => c.destroy(), // the restart's immediate reconnect finds the server gone again
      [expect.stringMatching(/^! -- connection lost \(.*\); reconnecting$/u), expect.stringMatching(/^! -- reconnected, resumed after /u)],
    ],
    [
      "is refused with 429",
      (c: Connection) => {
        c.res.writeHead(429, { "content-type": "application/json" });
        c.res.end(JSON.stringify({ error: { code: "rate_limited", message: "slow down" } }));
      },
      ["! -- 429 rate_limited: slow down; retrying the stream later", "! -- reconnected, resumed after nothing"],
    ],
  ])("a restart whose own reconnect %s: that is said, and so is the reconnect after it", async (_, refuse, said) => {
    sse = await startSseStub((c, n) => {
      if (n === 3) return refuse(c);
      c.open();
      if (n === 1) {
        c.send(frame(gateEvent(26, 0, "cal_old", 0.15), "snapshot"));
        setTimeout(() => c.destroy(), 10);
      } else if (n === 2) c.send(heartbeat(3));
      else c.send(frame(gateEvent(3, 2, "cal_new", 0.33), "snapshot") + heartbeat(3));
    });
    const w = watch(sse.url);
    await vi.waitFor(() => expect(w.out.stdout).toContain("3 activation"), WAIT);
    w.stop();
    expect(await w.done).toBe(0);
    expect(w.out.log.slice(4)).toEqual([`! ${RESTARTED}`, ...said, "-- snapshot", "3 activation            cal_new threshold 0.33"]);
    // the restart's reconnects go without Last-Event-ID, so the server sends its current state
    expect(sse.connections.map((c) => c.lastEventId)).toEqual([undefined, "26", undefined, undefined]);
  });

  it("a heartbeat below the last seq: says it once, fetches the current state without Last-Event-ID, no lost-connection lines", async () => {
    sse = await startSseStub((c, n) => {
      c.open();
      if (n === 1) {
        c.send(frame(gateEvent(26, 0, "cal_old", 0.15), "snapshot"));
        setTimeout(() => c.destroy(), 10);
      } else if (n === 2) c.send(heartbeat(3));
      else c.send(frame(gateEvent(3, 2, "cal_new", 0.33), "snapshot") + heartbeat(3) + frame(gateEvent(4, 3, "cal_newer", 0.4)));
    });
    const w = watch(sse.url);
    await vi.waitFor(() => expect(w.out.stdout).toContain("4 activation"), WAIT);
    w.stop();
    expect(await w.done).toBe(0);
    expect(w.out.log).toEqual([
      "-- snapshot",
      "26 activation            cal_old threshold 0.15",
      expect.stringMatching(/^! -- connection lost \(.*\); reconnecting$/u),
      "! -- reconnected, resumed after 26",
      `! ${RESTARTED}`,
      "-- snapshot",
      "3 activation            cal_new threshold 0.33",
      "4 activation            cal_newer threshold 0.4",
    ]);
    expect(sse.connections.map((c) => c.lastEventId)).toEqual([undefined, "26", undefined]);
  });
});

describe("scoregate watch --since past the server's newest event", () => {
  it("says the server's newest event is before it (not a restart it saw) and shows the current state", async () => {
    sse = await startSseStub((c) => {
      c.open();
      c.send(frame(gateEvent(7, 6, "cal_new", 0.33), "snapshot") + heartbeat(7));
    });
    const out = { stdout: "", stderr: "" };
    const interrupt = new AbortController();
    const done = run(["watch", ...GATE, "--since", "40"], {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
      env: { SCOREGATE_URL: sse.url, SCOREGATE_TOKEN: "read-token" },
      signal: interrupt.signal,
    });
    await vi.waitFor(() => expect(out.stdout).toContain("7 activation"), WAIT);
    interrupt.abort();
    expect(await done).toBe(0);
    expect(out.stderr).toBe("-- the server's newest event is 7, before --since 40; showing its current state\n");
    expect(sse.connections.map((c) => c.lastEventId)).toEqual(["40"]);
  });
});

describe("scoregate watch before the server is reached", () => {
  it("names the URL it could not reach once, retries quietly, and says when it connected", async () => {
    sse = await startSseStub((c) => {
      c.open();
      c.send(frame(gateEvent(5, 0), "snapshot"));
    });
    const reachable = sse.url;
    let calls = 0;
    const out = { stderr: "", stdout: "" };
    const interrupt = new AbortController();
    const done = run(["watch", ...GATE], {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
      env: { SCOREGATE_URL: reachable, SCOREGATE_TOKEN: "read-token" },
      signal: interrupt.signal,
      // the first four attempts find nothing listening; the waits between them are milliseconds here
      fetch: (input, init) => (++calls <= 4 ? Promise.reject(new TypeError("fetch failed")) : fetch(input, init)),
      watchBackoff: { initialMs: 5, maxMs: 20 },
    });
    await vi.waitFor(() => expect(out.stdout).toContain("5 activation"), WAIT);
    interrupt.abort();
    expect(await done).toBe(0);
    expect(calls).toBeGreaterThanOrEqual(5);
    expect(out.stderr.match(/could not reach/gu)).toHaveLength(1);
    expect(out.stderr).toContain(`scoregate: could not reach ${reachable} (fetch failed)`);
    expect(out.stderr).toMatch(new RegExp(`retrying until it answers \\(\\^C stops\\)\\n-- connected to ${reachable}\\n$`, "u"));
    expect(out.stderr).not.toContain("connection lost");
  });
});
