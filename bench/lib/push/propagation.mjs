/**
 * The default mode of bench/push-propagation.mjs: propagation of a change to `--subscribers` clients of one gate,
 * three ways in one run on one local workerd: pushed over SSE (GET /v1/events, the edge relay over the gate's
 * hibernating hub: what the Worker ships), pushed over a WebSocket held by the gate's hub itself (no relay), and
 * today's polling path (the SDK's ETag polling).
 *
 *   npm run bench:push           (= node bench/push-propagation.mjs, Node 24 from the devDependency)
 *   npm run bench:push -- --subscribers 1000 --activations 10 --gap 3 --idle 30 --poll 100 --out bench/results/push-propagation.md
 *
 * What it does: builds the worker, runs it in Miniflare 5 directly (workerd, not `wrangler dev`), uploads v1 (served)
 * and v2 (stored) of one gate, then:
 *   1. idle cost: workerd's CPU seconds over `idle` seconds with no subscriber;
 *   2. polling arm (first, so no held stream weighs on it): `subscribers` ScoregateClients (packages/client, ETag
 *      polling with the server's max-age, bundled with esbuild for this run), each asked for the threshold every
 *      `poll` ms as a busy service would; v2, v1, v2, ... activated `activations` times and the time each client first
 *      answers the new calibration recorded; then RSS and open file descriptors of workerd as the baseline;
 *   3. SSE arm: opens `subscribers` SSE streams (one Node process, undici fetch, a line parser), waits for each one's
 *      first heartbeat, measures RSS, file descriptors and `idle` seconds of CPU with all of them connected
 *      (heartbeats every 15 s), then activates `activations` times, `gap` seconds apart, and records when each
 *      subscriber receives the event of each activation: latency from the activation's 200 (negative when the push
 *      arrives before the answer: listeners run before it) and from the request's start;
 *   4. reconnect storm (SSE): every subscriber drops its stream at once, `storm` activations land while they are
 *      away, then all reconnect at once with Last-Event-ID; the time from the storm's start until each has applied
 *      the newest event (the hub replays what it missed), and the reconnects refused or failed (retried);
 *   5. the streams closed, workerd's file descriptors counted 1, 5 and 20 s later (a relay ends when workerd cancels
 *      its stream, which it does on its next write to a gone client: a heartbeat, every 15 s);
 *   6. WebSocket arm: the same (connect, idle CPU with a ping every 15 s answered by the hub's auto-response,
 *      activations, storm with `?after=`, close and file descriptors) with clients on a WebSocket held by the gate's
 *      hub. The Worker has no such door (clients get SSE: docs/architecture.md, "Pushed changes"), so this run adds
 *      one in front of the built Worker (HUB_DOOR, hub-door.mjs): authenticate, then hand the upgrade to the gate's
 *      object with the relay's own subscribe request; workerd then splices the client's socket to the hub's.
 * Every subscriber of each arm must get every event exactly once, linked by prev_seq (gaps, duplicates and misses
 * are counted, must be 0), storm included. The Node process's event-loop delay (perf_hooks.monitorEventLoopDelay) is
 * reported per arm, so a saturated client process is not read as server latency. Local KV is immediately consistent:
 * production polling is slower by KV's propagation (about 60 s) on top of what is measured here; pushed events do not
 * go through KV. Wall time: about build (~5 s) + 3 x idle + activations x (2 x gap + max-age + 2 s) + 2 x 25 s.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { machineInfo, startWorker } from "../worker.mjs";
import { alternating, uploadVersions } from "./gate-api.mjs";
import { HUB_DOOR } from "./hub-door.mjs";
import { GAP_MS, IDLE_MS, K, MISS_AFTER_MS, N, POLL_MS, POLL_WAIT_MS, STORM_EVENTS, TARGET_P99_MS } from "./options.mjs";
import { pollingArm } from "./polling-arm.mjs";
import { pushArm } from "./push-arm.mjs";
import { fmt, log, loopDelay, runLines, summaryRow, writeOut } from "./report.mjs";
import { cpuOver } from "./workerd-process.mjs";

export async function propagationMain() {
  const machine = machineInfo();
  log(`starting workerd (build, migrations) ...`);
  const h = await startWorker({ entryWrapper: HUB_DOOR });
  const pid = h.workerdPid;
  try {
    const url = h.url;
    const { v1, v2 } = await uploadVersions(url);
    const gateId = v1.gate_id;
    const targets = alternating(v1, v2);

    // 1. idle, nobody subscribed
    await sleep(2000);
    log(`idle ${IDLE_MS / 1000} s with no subscriber ...`);
    const idleCpu0 = await cpuOver(pid, IDLE_MS);

    // 2. polling arm: today's SDK (first: it holds no stream)
    const polling = await pollingArm(url, targets);
    await sleep(2000);

    // 3-5. SSE (what the Worker ships), then 6. the hub's own WebSocket
    const sse = await pushArm("sse", h, gateId, targets);
    const ws = await pushArm("ws", h, gateId, targets);

    const poll = polling.from200;
    const pollStart = polling.fromStart;
    const lines = [];
    const ratio = (a, b) => fmt(a / b, 2);
    lines.push(`# Pushed changes: propagation to ${N} subscribers of one gate`);
    lines.push("");
    lines.push(
      ...runLines(
        machine,
        `npm run bench:push -- --subscribers ${N} --activations ${K} --gap ${GAP_MS / 1000} --idle ${IDLE_MS / 1000} --poll ${POLL_MS} --storm ${STORM_EVENTS}`,
      ),
    );
    lines.push("");
    lines.push("## Latency from the activation's 200 to each subscriber having the new calibration (ms)");
    lines.push("");
    lines.push("| arm | samples | p50 | p90 | p99 | max |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
    lines.push(summaryRow("push, SSE relay over the hibernating hub (GET /v1/events)", sse.push.from200));
    lines.push(summaryRow("push, WebSocket held by the hub (bench door, no relay)", ws.push.from200));
    lines.push(summaryRow("polling (today's SDK, ETag, max-age 5 s)", poll));
    lines.push(summaryRow("SSE, from the activation request's start", sse.push.fromStart));
    lines.push(summaryRow("WebSocket, from the activation request's start", ws.push.fromStart));
    lines.push(summaryRow("polling, from the activation request's start", pollStart));
    lines.push("");
    lines.push(
      `From the request's start, polling / SSE: p50 ${ratio(pollStart.p50, sse.push.fromStart.p50)}x, p99 ${ratio(pollStart.p99, sse.push.fromStart.p99)}x; SSE / WebSocket: p50 ${ratio(sse.push.fromStart.p50, ws.push.fromStart.p50)}x, p99 ${ratio(sse.push.fromStart.p99, ws.push.fromStart.p99)}x. Target p99 < ${TARGET_P99_MS} ms from the 200: SSE ${sse.push.from200.p99 < TARGET_P99_MS ? "met" : "NOT met"}, WebSocket ${ws.push.from200.p99 < TARGET_P99_MS ? "met" : "NOT met"}.`,
    );
    for (const a of [sse, ws]) {
      lines.push(
        `${a.label}: ${a.push.misses} missed (not received within ${MISS_AFTER_MS / 1000} s), ${a.errors.gaps} gaps (prev_seq not the last applied), ${a.errors.dups} duplicates, ${a.errors.endedEarly} streams ended by the server, over the activations and the storm.`,
      );
    }
    lines.push(`Polling: ${polling.misses} (client, activation) pairs not seen within ${POLL_WAIT_MS / 1000} s.`);
    lines.push("");
    lines.push(`## Reconnect storm: all subscribers dropped, ${STORM_EVENTS} activations while away, all back at once`);
    lines.push("");
    lines.push("Time from the storm's start until each subscriber has applied the newest event (ms):");
    lines.push("");
    lines.push("| arm | caught up | p50 | p90 | p99 | max | not caught up in 60 s | reconnects retried | events replayed to each |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const a of [sse, ws]) {
      const c = a.storm.caught;
      lines.push(
        `| ${a.label} | ${c.n} | ${fmt(c.p50)} | ${fmt(c.p90)} | ${fmt(c.p99)} | ${fmt(c.max)} | ${a.storm.notCaught} | ${a.storm.retries} | ${a.storm.missedWhileAway} |`,
      );
    }
    lines.push("");
    lines.push(
      `SSE / WebSocket, storm: p50 ${ratio(sse.storm.caught.p50, ws.storm.caught.p50)}x, p99 ${ratio(sse.storm.caught.p99, ws.storm.caught.p99)}x.`,
    );
    lines.push("");
    lines.push("Per activation: activation request ms, then p50 / p99 / max from its 200, subscribers reached:");
    lines.push("");
    lines.push("| # | SSE request | SSE p50 | SSE p99 | SSE max | reached | WS request | WS p50 | WS p99 | WS max | reached |");
    lines.push("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const [i, a] of sse.push.perActivation.entries()) {
      const b = ws.push.perActivation[i];
      lines.push(
        `| ${i + 1} | ${fmt(a.request)} | ${fmt(a.p50)} | ${fmt(a.p99)} | ${fmt(a.max)} | ${a.got} | ${fmt(b.request)} | ${fmt(b.p50)} | ${fmt(b.p99)} | ${fmt(b.max)} | ${b.got} |`,
      );
    }
    lines.push("");
    lines.push(`Activation requests during the polling arm (ms): ${polling.requests.map((x) => fmt(x)).join(", ")}.`);
    lines.push("");
    lines.push("## Client process (event-loop delay while measuring, ms)");
    lines.push("");
    lines.push(`SSE arm: ${loopDelay(sse.push.loop)}; WebSocket arm: ${loopDelay(ws.push.loop)}; polling arm: ${loopDelay(polling.loop)}.`);
    lines.push("");
    lines.push("## Cost of held subscriptions (workerd process)");
    lines.push("");
    lines.push(`| | no subscriber | ${N} SSE | ${N} WebSocket |`);
    lines.push("| --- | ---: | ---: | ---: |");
    lines.push(
      `| RSS before the arm, with its subscribers (MB) | - | ${fmt(sse.rss0 / 1024, 1)}, ${fmt(sse.rssN / 1024, 1)} | ${fmt(ws.rss0 / 1024, 1)}, ${fmt(ws.rssN / 1024, 1)} |`,
    );
    lines.push(`| CPU seconds over ${IDLE_MS / 1000} idle s | ${fmt(idleCpu0, 2)} | ${fmt(sse.idleCpuN, 2)} | ${fmt(ws.idleCpuN, 2)} |`);
    lines.push(
      `| open file descriptors: before, connected, 1 / 5 / 20 s after the clients left | - | ${sse.fds0}, ${sse.fdsN}, ${sse.after.fds.join(" / ")} | ${ws.fds0}, ${ws.fdsN}, ${ws.after.fds.join(" / ")} |`,
    );
    lines.push(
      `| connections the clients closed and workerd not yet (CLOSE-WAIT), 1 / 5 / 20 s after | - | ${sse.after.halfClosed.join(" / ")} | ${ws.after.halfClosed.join(" / ")} |`,
    );
    lines.push("");
    const perBeat = (a) => (a.idleCpuN !== null && idleCpu0 !== null ? ((a.idleCpuN - idleCpu0) / N / (IDLE_MS / 15000)) * 1e6 : null);
    lines.push(
      `Idle CPU per subscription and 15 s beat: SSE ${fmt(perBeat(sse), 1)} µs (relay heartbeat frame + ping to the hub), WebSocket ${fmt(perBeat(ws), 1)} µs (the client's ping, answered by the auto-response). Memory per subscription: SSE ${fmt(((sse.rssN - sse.rss0) * 1024) / N / 1024, 1)} KB, WebSocket ${fmt(((ws.rssN - ws.rss0) * 1024) / N / 1024, 1)} KB. ${N} subscriptions connected (100 at a time) in ${fmt(sse.connectMs)} ms (SSE) and ${fmt(ws.connectMs)} ms (WebSocket).`,
    );
    writeOut(lines);
  } finally {
    await h.close();
  }
}
