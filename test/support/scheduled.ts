/** Runs one cron tick with its summary lines collected (not printed), for tests to assert on. */

import type { Env } from "../../src/platform/env";
import { runScheduled, type ScheduledReport } from "../../src/worker/scheduled";

export async function tick(env: Env, now: Date): Promise<ScheduledReport & { lines: string[] }> {
  const lines: string[] = [];
  const report = await runScheduled(env, now, (line) => lines.push(line));
  return { ...report, lines };
}
