/**
 * The polling arm of bench/push-propagation.mjs (run first, so no held stream weighs on it): `--subscribers`
 * ScoregateClients (packages/client, ETag polling with the server's max-age), each asked for the threshold every
 * `--poll` ms as a busy service would, and the time each client first answers each activation's calibration.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { loadClient, serve } from "./gate-api.mjs";
import { GAP_MS, GATE, N, POLL_MS, POLL_WAIT_MS } from "./options.mjs";
import { fmt, log, summary } from "./report.mjs";

/** Activates each target in turn, waiting POLL_WAIT_MS, then `gap` from its 200; latencies of the clients that saw it. */
export async function pollingArm(url, targets) {
  log(`polling arm: ${N} ScoregateClients ...`);
  const { ScoregateClient } = await loadClient();
  const clients = Array.from({ length: N }, () => new ScoregateClient({ baseUrl: url.href, token: "dev-read" }));
  const seen = clients.map(() => null);
  const gateKey = GATE;
  await Promise.all(clients.map((c) => c.getThreshold(gateKey, { fallback: 0.5 })));
  log("polling clients have a first value");
  let stop = false;
  const pollTimes = clients.map(() => []);
  const pollers = clients.map(async (c, i) => {
    await sleep((i / N) * POLL_MS);
    while (!stop) {
      const r = await c.getThreshold(gateKey, { fallback: 0.5 });
      if (r.calibrationId !== seen[i]) {
        seen[i] = r.calibrationId;
        pollTimes[i].push({ at: performance.now(), cal: r.calibrationId });
      }
      await sleep(POLL_MS);
    }
  });
  const pollFrom200 = [];
  const pollFromStart = [];
  const pollRequests = [];
  let pollMisses = 0;
  const loopPoll = monitorEventLoopDelay({ resolution: 5 });
  loopPoll.enable();
  for (const target of targets) {
    const { t0, t200 } = await serve(url, target, "bench polling");
    log(`polling: activation answered in ${fmt(t200 - t0)} ms`);
    pollRequests.push(t200 - t0);
    await sleep(POLL_WAIT_MS);
    for (const times of pollTimes) {
      const hit = times.find((t) => t.at >= t0 && t.cal === target);
      if (hit === undefined) pollMisses++;
      else {
        pollFrom200.push(hit.at - t200);
        pollFromStart.push(hit.at - t0);
      }
    }
    await sleep(Math.max(0, GAP_MS - POLL_WAIT_MS));
  }
  loopPoll.disable();
  stop = true;
  await Promise.all(pollers);
  return { from200: summary(pollFrom200), fromStart: summary(pollFromStart), requests: pollRequests, misses: pollMisses, loop: loopPoll };
}
