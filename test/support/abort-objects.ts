/**
 * abortAllDurableObjects() for tests that restart every Durable Object, remembered for the next file's setup
 * (setup-workerd-file.ts). An object aborted so and not opened again keeps its storage through the next reset():
 * measured, two GateMonitor objects of gate-monitor-atomicity.workerd.test.ts still held their batches, window and
 * series rows at the next file's start in every run of the workers project, and after the promotion routes' file the
 * whole D1 database was still there. The setup opens every object again before it resets when this has run.
 */
import { abortAllDurableObjects } from "cloudflare:test";

/** Whether a file of this process aborted every object since the last file's setup. */
export const aborted = { pending: false };

export async function abortAllObjects(): Promise<void> {
  aborted.pending = true;
  await abortAllDurableObjects();
}
