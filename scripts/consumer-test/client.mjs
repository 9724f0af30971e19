// Plain Node ESM, no TypeScript: the SDK from its installed tarball against a local scoregate. Run by
// scripts/consumer-test.mjs on each Node it tests (environment: SCOREGATE_URL, GATE, EXPECT_THRESHOLD, EXPECT_CALIBRATION).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OBSERVATIONS_PATH, ScoregateClient, THRESHOLD_PATH } from "@scoregate/client";
import { loadSnapshot, saveSnapshot } from "@scoregate/client/node";
import { restore } from "@scoregate/client/snapshot";

const gate = JSON.parse(process.env.GATE);
const threshold = Number(process.env.EXPECT_THRESHOLD);
const calibrationId = process.env.EXPECT_CALIBRATION;
assert.equal(THRESHOLD_PATH, "/v1/threshold");
assert.equal(OBSERVATIONS_PATH, "/v1/observations");

const client = new ScoregateClient({ baseUrl: process.env.SCOREGATE_URL, token: "dev-read" });
const first = await client.getThreshold(gate, { fallback: 0.99 });
assert.deepEqual([first.reason, first.threshold, first.calibrationId], ["calibrated", threshold, calibrationId]);
assert.equal((await client.getThreshold(gate, { fallback: 0.99 })).reason, "cached");

const candidates = [threshold + 0.1, threshold, threshold - 0.1, Number.NaN].map((score, i) => ({ id: i, score }));
const gated = await client.gate(candidates, { gate, score: (c) => c.score, fallback: 0.99 });
assert.deepEqual(
  gated.kept.map((c) => c.id),
  [0, 1, 3],
);
assert.deepEqual([gated.dropped.length, gated.unscored, gated.calibrationId], [1, 1, calibrationId]);
client.report({ calibrationId, candidates: 20, dropped: 5 });

const unknown = await client.getThreshold({ ...gate, reranker: "never-calibrated" }, { fallback: 0.3 });
assert.deepEqual([unknown.reason, unknown.threshold], ["uncalibrated", 0.3]);

const dir = mkdtempSync(join(tmpdir(), "scoregate-consumer-snapshot-"));
try {
  await saveSnapshot(client, join(dir, "snapshot.json"));
  const restored = new ScoregateClient({ baseUrl: "http://127.0.0.1:1", token: "dev-read" });
  restore(restored, await loadSnapshot(join(dir, "snapshot.json")));
  const cold = await restored.getThreshold(gate, { fallback: 0.99, timeoutMs: 200 });
  assert.deepEqual([cold.reason, cold.threshold], ["stale", threshold]);
  await restored.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const closed = await client.close();
assert.deepEqual([closed.failedBatches, closed.stats.sent, closed.stats.rejected], [0, 2, 0]);
console.log(JSON.stringify({ node: process.version, threshold: first.threshold, sent: closed.stats.sent, userAgent: client.userAgent }));
