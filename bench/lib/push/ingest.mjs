/**
 * What held subscriptions cost the ingest path (`bench/push-propagation.mjs --ingest`, only this):
 *
 *   npm run bench:push -- --ingest --subscribers 1000 --rounds 6 --seconds 10 --connections 8 --every 1 --out bench/results/push-ingest.md
 *
 * The gate's object hosts both the hub (the relays' subscribers) and the monitor that counts observation batches. In
 * each of `rounds` rounds, four arms of `seconds` each load `POST /v1/observations` for that one gate from a worker
 * thread (`connections` closed loops, unique batch ids, 20 queries a batch as in section 8), timing every batch:
 *   0 quiet       no subscriber;            0 pushing     no subscriber, an activation every `every` s;
 *   N quiet       `subscribers` SSE held;   N pushing     held, an activation every `every` s pushed to all of them.
 * The 0-subscriber pair and the N pair swap order every round (opening N streams before the N pair, dropping them and
 * waiting 20 s for the relays to end after it), and quiet/pushing swap inside each pair, so machine noise drifting
 * through the run hits every arm. Ratios are against "0 quiet", pooled over rounds and per round; each subscriber must
 * get every pushed event once (gaps, duplicates and misses counted). Wall time: about rounds x (4 x seconds + 35 s).
 */
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { machineInfo, median, startWorker } from "../worker.mjs";
import { serve, uploadVersions } from "./gate-api.mjs";
import { ingestLoad } from "./ingest-load.mjs";
import { N, opts } from "./options.mjs";
import { fmt, log, runLines, summary, writeOut } from "./report.mjs";
import { countOf, openSubscribers } from "./subscriber.mjs";
import { closeAndCount, fdCount } from "./workerd-process.mjs";

/** What held subscriptions cost `POST /v1/observations` on their gate (the header above). */
export async function ingestMain() {
  const machine = machineInfo();
  const rounds = Number(opts.rounds);
  const armMs = Number(opts.seconds) * 1000;
  const everyMs = Number(opts.every) * 1000;
  const arms = ["0 quiet", "0 pushing", "N quiet", "N pushing"];
  const pooled = new Map(arms.map((a) => [a, { lat: [], failed: 0, activations: 0, seconds: 0 }]));
  const perRound = [];
  const load0 = loadavg();
  log(`starting workerd (build, migrations) ...`);
  const h = await startWorker();
  try {
    const url = h.url;
    const { v1, v2 } = await uploadVersions(url);
    const gateId = v1.gate_id;
    let served = v1.id;
    let misses = 0;
    let pushedTotal = 0;
    const errors = { gaps: 0, dups: 0, endedEarly: 0 };
    const fds = [];
    // warm-up: the gate's object, the monitor's tables and the build's first calls, not measured
    await ingestLoad(url, 3000, "warm");
    const runArm = async (name, round, subs, arrivals) => {
      const pushing = name.endsWith("pushing");
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const t0 = performance.now();
      const running = ingestLoad(url, armMs, `r${round}-${name.replace(" ", "")}`);
      const pushed = [];
      if (pushing) {
        while (performance.now() - t0 + everyMs <= armMs) {
          const next = performance.now() + everyMs;
          const target = served === v1.id ? v2.id : v1.id;
          await serve(url, target, `bench ingest ${name}`);
          served = target;
          pushed.push(target);
          await sleep(Math.max(0, next - performance.now()));
        }
      }
      const r = await running;
      const seconds = (performance.now() - t0) / 1000;
      loop.disable();
      if (subs !== null && pushed.length > 0) {
        await sleep(2000);
        // every activation is one event of the gate's log, delivered to every held subscriber
        const newest = [...arrivals.keys()].sort((a, b) => b - a).slice(0, pushed.length);
        for (const seq of newest) misses += subs.length - (arrivals.get(seq)?.length ?? 0);
        pushedTotal += pushed.length * subs.length;
      }
      const p = pooled.get(name);
      p.lat.push(...r.lat);
      p.failed += r.failed;
      p.activations += pushed.length;
      p.seconds += seconds;
      const row = {
        round,
        name,
        ...summary(r.lat),
        failed: r.failed,
        rate: r.lat.length / seconds,
        activations: pushed.length,
        loopP99: loop.percentile(99) / 1e6,
      };
      perRound.push(row);
      log(
        `round ${round} ${name}: ${row.n} batches, ${fmt(row.rate)}/s, p50 ${fmt(row.p50, 1)} ms, p99 ${fmt(row.p99, 1)} ms, ${pushed.length} activations`,
      );
    };
    for (let round = 1; round <= rounds; round++) {
      const quietFirst = round % 2 === 1;
      const pair = (prefix) => (quietFirst ? [`${prefix} quiet`, `${prefix} pushing`] : [`${prefix} pushing`, `${prefix} quiet`]);
      const zero = async () => {
        for (const name of pair("0")) await runArm(name, round, null, null);
      };
      const held = async () => {
        const arrivals = new Map();
        log(`round ${round}: opening ${N} subscriptions ...`);
        const { subs } = await openSubscribers("sse", url, gateId, N, arrivals);
        await sleep(2000);
        fds.push(fdCount(h.workerdPid));
        for (const name of pair("N")) await runArm(name, round, subs, arrivals);
        for (const k of Object.keys(errors)) errors[k] += countOf(subs, k);
        log(`round ${round}: dropping them, waiting for the relays to end ...`);
        await closeAndCount(h.workerdPid, url.port, subs);
      };
      if (round % 2 === 1) {
        await zero();
        await held();
      } else {
        await held();
        await zero();
      }
    }
    const load1 = loadavg();
    const base = pooled.get("0 quiet");
    const b = summary(base.lat);
    const lines = [];
    lines.push(`# Pushed changes: what ${N} held subscriptions cost observation ingest on their gate`);
    lines.push("");
    lines.push(
      ...runLines(
        machine,
        `npm run bench:push -- --ingest --subscribers ${N} --rounds ${rounds} --seconds ${armMs / 1000} --connections ${opts.connections} --every ${everyMs / 1000}`,
        [load0, load1],
      ),
    );
    lines.push("");
    lines.push(`## POST /v1/observations latency, pooled over ${rounds} rounds (ms; ratios against "0 quiet")`);
    lines.push("");
    lines.push("| arm | batches | batches/s | p50 | p90 | p99 | max | p50 ratio | p99 ratio | batches/s ratio | non-2xx | activations |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    const baseRate = base.lat.length / base.seconds;
    for (const name of arms) {
      const p = pooled.get(name);
      const s = summary(p.lat);
      const rate = p.lat.length / p.seconds;
      lines.push(
        `| ${name.replace("N", String(N))} | ${s.n} | ${fmt(rate)} | ${fmt(s.p50, 1)} | ${fmt(s.p90, 1)} | ${fmt(s.p99, 1)} | ${fmt(s.max, 1)} | ${fmt(s.p50 / b.p50, 2)} | ${fmt(s.p99 / b.p99, 2)} | ${fmt(rate / baseRate, 2)} | ${p.failed} | ${p.activations} |`,
      );
    }
    lines.push("");
    lines.push(
      `Pushed during the ingest: ${pushedTotal} (activation, subscriber) deliveries expected, ${misses} missed (not received 2 s after the arm), ${errors.gaps} gaps, ${errors.dups} duplicates, ${errors.endedEarly} streams ended by the server. workerd's open file descriptors with the ${N} streams held, per round: ${fds.join(", ")}.`,
    );
    const roundRatios = (name, q) =>
      perRound.filter((r) => r.name === name).map((r) => r[q] / perRound.find((x) => x.round === r.round && x.name === "0 quiet")[q]);
    lines.push(
      `Median over rounds of each round's ratio to its own "0 quiet" (p50 / p99): ${arms
        .slice(1)
        .map((a) => `${a.replace("N", String(N))} ${fmt(median(roundRatios(a, "p50")), 2)} / ${fmt(median(roundRatios(a, "p99")), 2)}`)
        .join("; ")}.`,
    );
    lines.push("");
    lines.push('## Per round (ms; p50 and p99 ratios against the same round\'s "0 quiet")');
    lines.push("");
    lines.push("| round | arm | batches | batches/s | p50 | p99 | p50 ratio | p99 ratio | client event-loop p99 |");
    lines.push("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const r of perRound) {
      const rb = perRound.find((x) => x.round === r.round && x.name === "0 quiet");
      lines.push(
        `| ${r.round} | ${r.name.replace("N", String(N))} | ${r.n} | ${fmt(r.rate)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.p50 / rb.p50, 2)} | ${fmt(r.p99 / rb.p99, 2)} | ${fmt(r.loopP99, 1)} |`,
      );
    }
    writeOut(lines);
  } finally {
    await h.close();
  }
}
