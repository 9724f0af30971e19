/**
 * A pushed arm of bench/push-propagation.mjs: `--subscribers` clients of one transport connected, their idle cost,
 * `--activations` activations timed to each subscriber, a reconnect storm, then what workerd still holds once they
 * have left. measurePush serves the other modes too.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { procStatusKb } from "../worker.mjs";
import { serve } from "./gate-api.mjs";
import { GAP_MS, IDLE_MS, MISS_AFTER_MS, N, STORM_DEADLINE_MS, STORM_EVENTS } from "./options.mjs";
import { fmt, log, quantile, summary } from "./report.mjs";
import { countOf, openSubscribers } from "./subscriber.mjs";
import { closeAndCount, cpuOver, fdCount } from "./workerd-process.mjs";

/** Activates each target in turn, `gap` apart, timing each subscriber's arrival of its event. */
export async function measurePush(url, subs, arrivals, targets, label) {
  const from200 = [];
  const fromStart = [];
  const perActivation = [];
  let misses = 0;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  for (const target of targets) {
    const { t0, t200 } = await serve(url, target, `bench ${label}`);
    log(`${label}: activation answered in ${fmt(t200 - t0)} ms`);
    const deadline = t200 + MISS_AFTER_MS;
    // the event of this activation is the newest seq whose calibration is the target
    let got = [];
    while (performance.now() < deadline) {
      const newest = Math.max(...arrivals.keys());
      got = arrivals.get(newest) ?? [];
      if (got.length >= subs.length && got[0].cal === target) break;
      await sleep(20);
    }
    const mine = got.filter((g) => g.cal === target);
    misses += subs.length - mine.length;
    const lat = mine.map((g) => g.at - t200);
    from200.push(...lat);
    fromStart.push(...mine.map((g) => g.at - t0));
    perActivation.push({ request: t200 - t0, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: quantile(lat, 1), got: mine.length });
    await sleep(Math.max(0, GAP_MS - (performance.now() - t200)));
  }
  loop.disable();
  return { from200: summary(from200), fromStart: summary(fromStart), perActivation, misses, loop };
}

/**
 * The reconnect storm: every subscriber drops at once, `STORM_EVENTS` activations land while they are away, then all
 * reconnect at once, resuming after their last seq; per subscriber, the time from the storm's start until it has
 * applied the newest event.
 */
async function storm(url, subs, targets, label) {
  for (const s of subs) s.drop();
  await sleep(1000);
  // Served after the arm's activations: targets[K - 1] (K even: v1); the storm goes on alternating from there.
  for (let i = 0; i < STORM_EVENTS; i++) {
    const target = targets[i % 2];
    await serve(url, target, `bench ${label} storm`);
  }
  // Each activation is one row of the gate's log and nothing else writes to it here: the newest seq is known.
  const behind = subs.map((s) => s.state.last);
  const newest = Math.max(...behind) + STORM_EVENTS;
  for (const s of subs) {
    s.state.target = newest;
    s.state.caughtAt = null;
  }
  const failuresBefore = countOf(subs, "failures");
  const t0 = performance.now();
  const reconnected = Promise.all(subs.map((s) => s.connect()));
  while (performance.now() - t0 < STORM_DEADLINE_MS && subs.some((s) => s.state.caughtAt === null)) await sleep(20);
  await Promise.race([reconnected, sleep(1000)]);
  const caught = subs.filter((s) => s.state.caughtAt !== null).map((s) => s.state.caughtAt - t0);
  for (const s of subs) s.state.target = null;
  return {
    caught: summary(caught),
    notCaught: subs.length - caught.length,
    retries: countOf(subs, "failures") - failuresBefore,
    missedWhileAway: Math.min(...subs.map((s, i) => s.state.last - behind[i])),
  };
}

/** Everything measured for one pushed arm. */
export async function pushArm(transport, h, gateId, targets) {
  const pid = h.workerdPid;
  const label = transport === "sse" ? "SSE" : "WebSocket";
  log(`${label} arm: opening ${N} subscriptions ...`);
  const arrivals = new Map(); // seq -> arrival times
  const rss0 = procStatusKb(pid, "VmRSS");
  const fds0 = fdCount(pid);
  const { subs, connectMs } = await openSubscribers(transport, h.url, gateId, N, arrivals);
  await sleep(2000);
  const rssN = procStatusKb(pid, "VmRSS");
  const fdsN = fdCount(pid);
  log(`${label}: idle ${IDLE_MS / 1000} s with ${N} subscribers ...`);
  const idleCpuN = await cpuOver(pid, IDLE_MS);
  const push = await measurePush(h.url, subs, arrivals, targets, label);
  log(`${label}: reconnect storm ...`);
  const st = await storm(h.url, subs, targets, label);
  const errors = {
    gaps: countOf(subs, "gaps"),
    dups: countOf(subs, "dups"),
    endedEarly: countOf(subs, "endedEarly"),
  };
  const after = await closeAndCount(pid, h.url.port, subs);
  return { label, rss0, rssN, fds0, fdsN, after, idleCpuN, connectMs, push, storm: st, errors };
}
