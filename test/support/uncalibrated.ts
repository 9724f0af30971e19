/**
 * Driving the uncalibrated_request rule (src/alerts/uncalibrated-alert.ts) in workerd tests, which cannot wait the
 * minutes a service takes to qualify: the sightings of earlier minutes are written to D1 directly, as earlier
 * requests would have left them, and the request under test is the one that completes the count.
 */
import { env } from "cloudflare:workers";
import { gateIdOf } from "../../src/platform/ids";
import { UNCALIBRATED_ALERT_MIN_MINUTES } from "../../src/platform/limits";

/** The read token's name in the tests' configuration (vitest.config.ts READ_TOKENS). */
export const READ_TOKEN_NAME = "svc-a";

/** The User-Agent of the SDK, as a service that uses it sends. */
export const SERVICE_USER_AGENT = "scoregate-client/0.1.0";

type Gate = { index: string; embedding: string; reranker: string };

const minuteNow = (): number => Math.floor(Date.now() / 60_000);

/** Records that `token` asked for each gate in the `minutes` minutes before this one (default: one short of an alert). */
export async function seedSightings(gates: readonly Gate[], token = READ_TOKEN_NAME, minutes = UNCALIBRATED_ALERT_MIN_MINUTES - 1): Promise<void> {
  const db = env.DB;
  const now = minuteNow();
  const statements: D1PreparedStatement[] = [];
  for (const gate of gates) {
    const gateId = await gateIdOf(gate);
    for (let m = 1; m <= minutes; m++) {
      statements.push(
        db.prepare("INSERT OR IGNORE INTO uncalibrated_sightings (gate_id, token, minute) VALUES (?, ?, ?)").bind(gateId, token, now - m),
      );
    }
  }
  // In batches of 100 statements, well within what D1 takes in one batch.
  for (let i = 0; i < statements.length; i += 100) await db.batch(statements.slice(i, i + 100));
}

/** The minutes recorded for (gate, token). */
export async function sightingsOf(gate: Gate, token = READ_TOKEN_NAME): Promise<number[]> {
  const db = env.DB;
  const { results } = await db
    .prepare("SELECT minute FROM uncalibrated_sightings WHERE gate_id = ? AND token = ? ORDER BY minute")
    .bind(await gateIdOf(gate), token)
    .all<{ minute: number }>();
  return results.map((r) => r.minute);
}
