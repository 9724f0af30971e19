/**
 * What a service serves (`bench/push-propagation.mjs --sdk`, only this; sdkMain below):
 *
 *   npm run bench:push -- --sdk --subscribers 1000
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { machineInfo, startWorker } from "../worker.mjs";
import { alternating, loadClient, serve, uploadVersions } from "./gate-api.mjs";
import { GAP_MS, GATE, K, MISS_AFTER_MS, N, TARGET_P99_MS } from "./options.mjs";
import { fmt, log, loopDelay, quantile, runLines, summary, summaryRow, writeOut } from "./report.mjs";
import { openSubscribers } from "./subscriber.mjs";

/**
 * What a service serves (`--sdk`, only this): `subscribers` SDK clients with pushed changes (`@scoregate/client/stream`,
 * `stream: true`, bundled for this run) and, in the same process and on the same activations, `subscribers` plain SSE
 * subscribers as the baseline. Each SDK client listens to its own events; on each `calibration` event it asks
 * `getThreshold` and the moment that answers the new calibration (from memory: `cached`) is when the service serves it.
 * Reported against the activation's 200, with the baseline's arrivals and the ratio of the two.
 */
export async function sdkMain() {
  const machine = machineInfo();
  log("starting workerd (build, migrations) ...");
  const h = await startWorker({});
  try {
    const url = h.url;
    const { v1, v2 } = await uploadVersions(url);
    const targets = alternating(v1, v2);
    const { ScoregateClient } = await loadClient("stream");
    log(`SDK arm: ${N} stream clients ...`);
    const served = new Map(); // calibration id -> [{ at, reason }] (one per client and activation)
    const clients = [];
    for (let i = 0; i < N; i++) {
      const c = new ScoregateClient({ baseUrl: url.href, token: "dev-read", stream: true, observations: { timer: false } });
      c.subscribe((e) => {
        if (e.type !== "calibration") return;
        void c.getThreshold(GATE, { fallback: 0.5 }).then((r) => {
          const list = served.get(r.calibrationId) ?? [];
          list.push({ at: performance.now(), reason: r.reason, client: i });
          served.set(r.calibrationId, list);
        });
      });
      clients.push(c);
      if (i % 100 === 99 || i === N - 1) await Promise.all(clients.slice(i - (i % 100)).map((x) => x.getThreshold(GATE, { fallback: 0.5 })));
    }
    const deadline = performance.now() + 60_000;
    while (performance.now() < deadline && !clients.every((c) => c.streams()[0]?.state === "open")) await sleep(100);
    const open = clients.filter((c) => c.streams()[0]?.state === "open").length;
    log(`SDK: ${open} of ${N} streams open; baseline: ${N} SSE subscribers ...`);
    const arrivals = new Map();
    const { subs } = await openSubscribers("sse", url, v1.gate_id, N, arrivals);
    await sleep(2000);
    const sdkFrom200 = [];
    const rawFrom200 = [];
    const sdkFromStart = [];
    const rawFromStart = [];
    const perActivation = [];
    let sdkMisses = 0;
    let notCached = 0;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    for (const target of targets) {
      served.delete(target);
      const { t0, t200 } = await serve(url, target, "bench sdk");
      const until = t200 + MISS_AFTER_MS;
      while (performance.now() < until) {
        const newest = Math.max(...arrivals.keys());
        const raw = arrivals.get(newest) ?? [];
        if ((served.get(target)?.length ?? 0) >= N && raw.length >= N && raw[0].cal === target) break;
        await sleep(20);
      }
      const mine = served.get(target) ?? [];
      const firstByClient = new Map();
      for (const m of mine) if (!firstByClient.has(m.client)) firstByClient.set(m.client, m);
      sdkMisses += N - firstByClient.size;
      notCached += [...firstByClient.values()].filter((m) => m.reason !== "cached").length;
      const sdkLat = [...firstByClient.values()].map((m) => m.at - t200);
      const raw = (arrivals.get(Math.max(...arrivals.keys())) ?? []).filter((g) => g.cal === target).map((g) => g.at - t200);
      sdkFrom200.push(...sdkLat);
      rawFrom200.push(...raw);
      sdkFromStart.push(...sdkLat.map((x) => x + (t200 - t0)));
      rawFromStart.push(...raw.map((x) => x + (t200 - t0)));
      perActivation.push({ request: t200 - t0, sdkP99: quantile(sdkLat, 0.99), rawP99: quantile(raw, 0.99), sdk: sdkLat.length, raw: raw.length });
      log(`sdk: activation answered in ${fmt(t200 - t0)} ms; served by ${sdkLat.length}, p99 ${fmt(quantile(sdkLat, 0.99))} ms`);
      await sleep(Math.max(0, GAP_MS - (performance.now() - t200)));
    }
    loop.disable();
    for (const s of subs) s.drop();
    await Promise.all(clients.map((c) => c.close()));
    const sdk = summary(sdkFrom200);
    const raw = summary(rawFrom200);
    const sdkStart = summary(sdkFromStart);
    const rawStart = summary(rawFromStart);
    const lines = [];
    lines.push(`# Pushed changes: ${N} SDK clients serving the new threshold, against ${N} plain SSE subscribers`);
    lines.push("");
    lines.push(...runLines(machine, `npm run bench:push -- --sdk --subscribers ${N} --activations ${K} --gap ${GAP_MS / 1000}`));
    lines.push("");
    lines.push("Latency from the activation's 200 (ms):");
    lines.push("");
    lines.push("| | samples | p50 | p90 | p99 | max |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
    lines.push(summaryRow("SDK client: getThreshold answers the new calibration", sdk));
    lines.push(summaryRow("baseline: plain SSE subscriber receives the event", raw));
    lines.push(summaryRow("SDK client, from the activation request's start", sdkStart));
    lines.push(summaryRow("baseline, from the activation request's start", rawStart));
    lines.push("");
    lines.push(
      `SDK against the baseline: ${fmt(sdk.p50 - raw.p50)} ms later at p50 and ${fmt(sdk.p99 - raw.p99)} ms at p99 (from the 200; negative: the push listener runs before the answer); from the request's start p50 ${fmt(sdkStart.p50 / rawStart.p50, 2)}x, p99 ${fmt(sdkStart.p99 / rawStart.p99, 2)}x. Target p99 < ${TARGET_P99_MS} ms from the 200: ${sdk.p99 < TARGET_P99_MS ? "met" : "NOT met"}. ${open} of ${N} SDK streams open before the first activation; ${sdkMisses} (client, activation) pairs not served within ${MISS_AFTER_MS / 1000} s; ${notCached} first answers not \`cached\`.`,
    );
    lines.push("");
    lines.push("| # | request ms | SDK p99 | baseline p99 | SDK served | baseline reached |");
    lines.push("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const [i, a] of perActivation.entries())
      lines.push(`| ${i + 1} | ${fmt(a.request)} | ${fmt(a.sdkP99)} | ${fmt(a.rawP99)} | ${a.sdk} | ${a.raw} |`);
    lines.push("");
    lines.push(`Client process event-loop delay while measuring (ms): ${loopDelay(loop)}.`);
    writeOut(lines);
  } finally {
    await h.close();
  }
}
