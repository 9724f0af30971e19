/**
 * The subscribers of bench/push-propagation.mjs: one client of a gate's pushed changes, over SSE (GET /v1/events, what
 * the Worker ships) or over a WebSocket held by the gate's hub (the bench door of hub-door.mjs), and a fleet of them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { GATE_QS, RETRY_MS, WS_PING_MS } from "./options.mjs";

/**
 * One subscriber of either transport, kept across reconnects: frames parsed as they come (a WebSocket message is one
 * hub frame, already SSE text), each gate event stamped on arrival and checked against the last applied seq.
 * `connect()` opens (resuming after `state.last` when it has one) and resolves at the hub's first heartbeat;
 * `drop()` closes from the client's side.
 */
export function subscriber(transport, url, gateId, onEvent) {
  const state = { last: 0, gaps: 0, dups: 0, endedEarly: 0, open: false, failures: 0, caughtAt: null, target: null };
  let current = null;
  const frames = (onReady) => {
    let buffer = "";
    return (text) => {
      buffer += text;
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const name = /^event: (.*)$/mu.exec(frame)?.[1];
        const data = /^data: (.*)$/mu.exec(frame)?.[1];
        if (name === "heartbeat") onReady();
        else if (name === "snapshot") state.last = JSON.parse(data).seq;
        else if (name === "gate") {
          const at = performance.now();
          const e = JSON.parse(data);
          if (e.seq <= state.last) state.dups++;
          else {
            if (e.prev_seq !== state.last) state.gaps++;
            state.last = e.seq;
            if (state.target !== null && e.seq >= state.target && state.caughtAt === null) state.caughtAt = at;
            onEvent(e, at);
          }
        }
      }
    };
  };
  const connectSse = () =>
    new Promise((ready, fail) => {
      const controller = new AbortController();
      let dropped = false;
      current = () => {
        dropped = true;
        controller.abort();
      };
      (async () => {
        const headers = { authorization: "Bearer dev-read", accept: "text/event-stream" };
        if (state.last > 0) headers["last-event-id"] = String(state.last);
        const res = await fetch(new URL(`/v1/events?${GATE_QS}`, url), { headers, signal: controller.signal });
        if (res.status !== 200) throw new Error(`GET /v1/events answered ${res.status}: ${await res.text()}`);
        const decoder = new TextDecoder();
        const feed = frames(() => {
          state.open = true;
          ready();
        });
        for await (const chunk of res.body) feed(decoder.decode(chunk, { stream: true }));
      })()
        .catch((e) => {
          if (e.name !== "AbortError") fail(e);
        })
        .finally(() => {
          if (state.open && !dropped) state.endedEarly++;
          state.open = false;
        });
    });
  const connectWs = () =>
    new Promise((ready, fail) => {
      const q = new URLSearchParams({ gate: gateId, token: "dev-read", ...(state.last > 0 ? { after: String(state.last) } : {}) });
      const ws = new WebSocket(new URL(`/bench/hub?${q}`, url.href.replace(/^http/u, "ws")));
      let dropped = false;
      let ping = null;
      current = () => {
        dropped = true;
        ws.close(1000, "bench");
      };
      const feed = frames(() => {
        if (!state.open) {
          state.open = true;
          ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), WS_PING_MS);
          ready();
        }
      });
      ws.addEventListener("message", (m) => {
        if (typeof m.data === "string" && m.data !== "pong") feed(m.data);
      });
      ws.addEventListener("error", () => {
        if (!state.open) fail(new Error("WebSocket failed to open"));
      });
      ws.addEventListener("close", () => {
        clearInterval(ping);
        if (state.open && !dropped) state.endedEarly++;
        state.open = false;
      });
    });
  const connect = async () => {
    for (;;) {
      try {
        return await (transport === "sse" ? connectSse() : connectWs());
      } catch {
        state.failures++;
        await sleep(RETRY_MS);
      }
    }
  };
  return { state, connect, drop: () => current?.() };
}

/** Opens `n` subscribers of `transport`, a hundred at a time (a fleet starting, not a storm). */
export async function openSubscribers(transport, url, gateId, n, arrivals) {
  const subs = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = subscriber(transport, url, gateId, (e, at) => {
      const list = arrivals.get(e.seq) ?? [];
      list.push({ at, cal: e.calibration_id });
      arrivals.set(e.seq, list);
    });
    subs.push(s);
    if (i % 100 === 99 || i === n - 1) await Promise.all(subs.slice(i - (i % 100)).map((x) => x.connect()));
  }
  return { subs, connectMs: performance.now() - t0 };
}

/** The sum of one counter of `state` (gaps, dups, endedEarly, failures) over subscribers. */
export const countOf = (subs, key) => subs.reduce((a, s) => a + s.state[key], 0);
