/**
 * A reconnect storm caused by the server (`bench/push-propagation.mjs --restart`, only this):
 *
 *   npm run bench:push -- --restart --subscribers 1000
 *
 * starts the Worker on a kept storage (startWorker's `stateDir`), opens `subscribers` SSE streams, stops workerd and
 * starts it again on that storage (a deploy or a crash: every stream ends at once). Each client retries every
 * RETRY_MS from the moment its stream ends, resuming after its last seq; reported: the restart, the time to each
 * reconnect (from the stop and from the Worker serving again), retries, then two activations pushed to all of them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { machineInfo, startWorker } from "../worker.mjs";
import { uploadVersions } from "./gate-api.mjs";
import { N, RETRY_MS } from "./options.mjs";
import { measurePush } from "./push-arm.mjs";
import { fmt, log, runLines, summary, summaryRow, writeOut } from "./report.mjs";
import { countOf, openSubscribers } from "./subscriber.mjs";

/** The restart (the header above). */
export async function restartMain() {
  const machine = machineInfo();
  const load0 = loadavg();
  const stateDir = mkdtempSync(join(tmpdir(), "scoregate-push-restart-"));
  let h = await startWorker({ stateDir });
  try {
    const target = new URL(h.url); // the clients' address: its port moves to the restarted workerd's
    const { v1, v2 } = await uploadVersions(target);
    const arrivals = new Map();
    log(`opening ${N} subscriptions ...`);
    const { subs } = await openSubscribers("sse", target, v1.gate_id, N, arrivals);
    await sleep(2000);
    const t0 = performance.now();
    const stopped = h.close();
    // each client reconnects as soon as its stream ends (refused, retried, until the Worker is back)
    const back = subs.map(async (s) => {
      while (s.state.open) await sleep(5);
      await s.connect();
      return performance.now() - t0;
    });
    await stopped;
    const downMs = performance.now() - t0;
    h = await startWorker({ stateDir, migrate: false });
    target.port = h.url.port;
    const upMs = performance.now() - t0;
    log(`workerd stopped in ${fmt(downMs)} ms, serving again ${fmt(upMs)} ms after the stop began; waiting for ${N} reconnects ...`);
    const backMs = await Promise.all(back);
    const reconnect = summary(backMs);
    const sinceUp = summary(backMs.map((ms) => ms - upMs));
    const endedByServer = countOf(subs, "endedEarly");
    const retries = countOf(subs, "failures");
    await sleep(2000);
    const push = await measurePush(target, subs, arrivals, [v2.id, v1.id], "after the restart");
    const errors = { gaps: countOf(subs, "gaps"), dups: countOf(subs, "dups") };
    for (const s of subs) s.drop();
    const load1 = loadavg();
    const lines = [];
    lines.push(`# Pushed changes: ${N} SSE subscribers through a restart of the Worker`);
    lines.push("");
    lines.push(...runLines(machine, `npm run bench:push -- --restart --subscribers ${N}`, [load0, load1]));
    lines.push("");
    lines.push(
      `workerd stopped ${fmt(downMs)} ms and served again ${fmt(upMs)} ms after the stop began (a new process on the same storage, its build included). Streams ended by the server: ${endedByServer} of ${N}; reconnects refused or failed and retried every ${RETRY_MS} ms: ${retries}.`,
    );
    lines.push("");
    lines.push("| | subscribers | p50 | p90 | p99 | max |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
    lines.push(summaryRow("from the stop's start to reconnected (first heartbeat), ms", reconnect));
    lines.push(summaryRow("from serving again to reconnected, ms", sinceUp));
    lines.push(summaryRow("after: an activation's push, from its 200, ms", push.from200));
    lines.push("");
    lines.push(`After the restart: ${push.misses} missed, ${errors.gaps} gaps, ${errors.dups} duplicates over 2 activations.`);
    writeOut(lines);
  } finally {
    await h.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
