/**
 * What bench/push-propagation.mjs reads of the workerd process from the outside (/proc and `ss`): its open file
 * descriptors, its CPU time and the connections it holds after their clients have left.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { cpuSecondsOf } from "../worker.mjs";

/** Open file descriptors of `pid` (sockets included); null when unavailable. */
export const fdCount = (pid) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
};

/** CPU seconds `pid` uses over the next `ms`; null when unavailable. */
export const cpuOver = async (pid, ms) => {
  const before = cpuSecondsOf(pid);
  await sleep(ms);
  const after = cpuSecondsOf(pid);
  return before === null || after === null ? null : after - before;
};

/**
 * Connections workerd has not closed although their client did (TCP CLOSE-WAIT on its port, from `ss`): a held
 * stream whose client is gone; null where `ss` is unavailable.
 */
const closeWaits = (port) => {
  try {
    return execFileSync("ss", ["-tanH", "state", "close-wait", `( sport = :${port} )`], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean).length;
  } catch {
    return null;
  }
};

/** Drops every subscriber; counts workerd's file descriptors and half-closed connections 1, 5 and 20 s later. */
export async function closeAndCount(pid, port, subs) {
  for (const s of subs) s.drop();
  const fds = [];
  const halfClosed = [];
  let waited = 0;
  for (const at of [1, 5, 20]) {
    await sleep((at - waited) * 1000);
    waited = at;
    fds.push(fdCount(pid));
    halfClosed.push(closeWaits(port));
  }
  return { fds, halfClosed };
}
