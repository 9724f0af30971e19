/**
 * Replays an index rebuild with an embedding upgrade against a running scoregate, and shows why an absolute cutoff
 * breaks while a calibrated gate holds its drop rate. Run from the repository root while `npm start` serves:
 *
 *   node examples/upgrade-replay/replay.mjs            (or --url http://host:port; SCOREGATE_URL works too)
 *
 * 1. v1 index, embedding intfloat/e5-large-v2: the team's absolute gate 0.4 drops about 22 % of reranked candidates.
 *    The rebuild pipeline calibrates v1 with the CLI (`scoregate calibrate --target <that drop rate>`) and serves it.
 * 2. The embedding is upgraded (intfloat/e5-large-v3: a new gate) and the index rebuilt (v2). Different chunks reach
 *    the reranker and it scores them lower. The pipeline runs
 *    `scoregate calibrate v2.csv --carry --reference <v1 calibration>`: the new gate keeps v1's drop rate, and the
 *    shift report says what 0.4 would drop now.
 * 3. Production traffic on the upgraded index (fresh queries, not the calibration sample) is replayed through both
 *    gates: 0.4's drop rate jumps, the calibrated gate's stays put.
 * 4. It ends with what the CLI exits on: what is served, read from the upload's answer (`scoregate calibrate --json`
 *    with the same Idempotency-Key: the stored answer again, not a second calibration). On a fresh state the new gate
 *    had no calibration, so activate "auto" (the default) serves its first one (exit 0); its shift against v1 is
 *    "shifted" by design (the old threshold moved, the drop rate was carried) and raises no alert. Run again, the gate
 *    already serves the previous run's v2: the shift compares with that one (the same scores: "equivalent", served). A
 *    rebuild of an existing gate that shifts is stored unserved (exit 3) until someone promotes it with
 *    `scoregate activate`.
 *
 * Scores are seeded (the same every run); files go to a temporary directory that is removed at the end.
 */

import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values: opts } = parseArgs({ options: { url: { type: "string" } } });
const URL_ = opts.url ?? process.env.SCOREGATE_URL ?? "http://localhost:8787";
const INDEX = "docs-upgrade-replay";
const RERANKER = "BAAI/bge-reranker-v2-m3";
const OLD_EMBEDDING = "intfloat/e5-large-v2";
const NEW_EMBEDDING = "intfloat/e5-large-v3";
const ABSOLUTE = 0.4;

/** mulberry32: a tiny seeded PRNG, so every run replays the same scores. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Reranker scores per query: a query-level offset (some queries have better candidates) plus noise, logistic. */
function queries(seed, n, perQuery, center) {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return Array.from({ length: n }, () => {
    const offset = 0.6 * normal();
    return Array.from({ length: perQuery }, () => 1 / (1 + Math.exp(-(center + offset + 1.1 * normal()))));
  });
}
const dropRate = (qs, t) => {
  let all = 0;
  let dropped = 0;
  for (const q of qs) {
    for (const s of q) {
      all++;
      if (s < t) dropped++;
    }
  }
  return dropped / all;
};
const pct = (x) => `${(100 * x).toFixed(1)} %`;
function writeCsv(path, qs) {
  const rows = ["query_id,chunk_id,score"];
  qs.forEach((q, i) => {
    q.forEach((s, j) => {
      rows.push(`q${i},c${j},${s}`);
    });
  });
  writeFileSync(path, `${rows.join("\n")}\n`);
}
function scoregate(args, { show = false } = {}) {
  const r = spawnSync("npx", ["scoregate", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, SCOREGATE_URL: URL_, SCOREGATE_TOKEN: process.env.SCOREGATE_TOKEN ?? "dev-calibrate" },
  });
  if (show) {
    process.stdout.write(`${r.stdout.trimEnd().replace(/^/gmu, "    ")}\n`);
    process.stderr.write(r.stderr);
  }
  return r;
}
async function threshold(embedding) {
  const q = new URLSearchParams({ index: INDEX, embedding, reranker: RERANKER });
  const res = await fetch(`${URL_}/v1/threshold?${q}`, { headers: { Authorization: "Bearer dev-read" } });
  if (!res.ok) throw new Error(`GET /v1/threshold answered ${res.status}: ${await res.text()}`);
  return res.json();
}

if (!existsSync(join(ROOT, "node_modules", ".bin", "scoregate"))) {
  console.error("the scoregate CLI is not built in this checkout: run `npm run build` first (it builds packages/cli/dist/cli.js)");
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "scoregate-upgrade-replay-"));
try {
  try {
    await fetch(`${URL_}/healthz`);
  } catch {
    console.error(`scoregate is not answering at ${URL_}: start it with \`npm start\` (or pass --url)`);
    process.exit(1);
  }
  // ---- 1. v1 ---------------------------------------------------------------------------------------------------
  const v1 = queries(1, 400, 20, 0.5);
  const carried = dropRate(v1, ABSOLUTE);
  const v1File = join(dir, "v1.csv");
  writeCsv(v1File, v1);
  console.log(`1. Index v1 (${OLD_EMBEDDING}): the absolute gate ${ABSOLUTE} drops ${pct(carried)} of 8,000 calibration candidates.`);
  console.log(
    `   $ scoregate calibrate v1.csv --index ${INDEX} --embedding ${OLD_EMBEDDING} --reranker ${RERANKER} --index-version v1 --target ${carried}`,
  );
  const c1 = scoregate([
    "calibrate",
    v1File,
    "--index",
    INDEX,
    "--embedding",
    OLD_EMBEDDING,
    "--reranker",
    RERANKER,
    "--index-version",
    "v1",
    "--target",
    String(carried),
    "--json",
  ]);
  if (c1.status !== 0) {
    process.stderr.write(c1.stdout + c1.stderr);
    process.exit(1);
  }
  const cal1 = JSON.parse(c1.stdout).calibration;
  const served1 = await threshold(OLD_EMBEDDING);
  console.log(
    `   served: threshold ${served1.threshold.toFixed(4)} (${served1.calibration_id}), expected drop rate ${pct(served1.expected_drop_rate)}`,
  );

  // ---- 2. the upgrade ---------------------------------------------------------------------------------------------
  const v2 = queries(2, 400, 20, -0.7);
  const v2File = join(dir, "v2.csv");
  writeCsv(v2File, v2);
  console.log(`\n2. Embedding upgrade to ${NEW_EMBEDDING} and rebuild (v2). The rebuild pipeline runs:`);
  console.log(
    `   $ scoregate calibrate v2.csv --index ${INDEX} --embedding ${NEW_EMBEDDING} --reranker ${RERANKER} --index-version v2 --carry --reference ${cal1.id}`,
  );
  const v2Key = randomUUID();
  const v2Args = ({ json }) => [
    "calibrate",
    v2File,
    "--index",
    INDEX,
    "--embedding",
    NEW_EMBEDDING,
    "--reranker",
    RERANKER,
    "--index-version",
    "v2",
    "--carry",
    "--reference",
    cal1.id,
    "--idempotency-key",
    v2Key,
    ...(json ? ["--json"] : []),
  ];
  const c2 = scoregate(v2Args({ json: false }), { show: true });
  if (c2.status !== 0 && c2.status !== 3 && c2.status !== 4 && c2.status !== 5) process.exit(1);
  // The same upload's answer as JSON: the same Idempotency-Key makes the server replay what it answered above.
  const replayed = scoregate(v2Args({ json: true }));
  if (replayed.status !== c2.status) {
    console.error(`the upload's answer could not be read again (scoregate exited ${replayed.status}): ${replayed.stderr}`);
    process.exit(1);
  }
  const answer = JSON.parse(replayed.stdout);
  const cal2Id = answer.calibration.id;
  const calibrated = answer.calibration.threshold;

  // ---- 3. production replay -----------------------------------------------------------------------------------
  const before = queries(11, 1000, 20, 0.5); // fresh production queries on v1
  const after = queries(12, 1000, 20, -0.7); // fresh production queries on the upgraded v2
  console.log("\n3. Production replay (1,000 fresh queries of 20 candidates each, not the calibration sample):");
  console.log("   gate                              | v1 (e5-large-v2) | v2 (e5-large-v3)");
  console.log("   --------------------------------- | ---------------: | ---------------:");
  console.log(
    `   absolute ${ABSOLUTE}                      | ${pct(dropRate(before, ABSOLUTE)).padStart(16)} | ${pct(dropRate(after, ABSOLUTE)).padStart(16)}`,
  );
  console.log(
    `   calibrated (${served1.threshold.toFixed(4)} -> ${calibrated.toFixed(4)})     | ${pct(dropRate(before, served1.threshold)).padStart(16)} | ${pct(dropRate(after, calibrated)).padStart(16)}`,
  );

  // ---- 4. the decision, as the upload's answer says ------------------------------------------------------------
  const outcome = answer.activation_outcome;
  const shift = answer.calibration.shift;
  const against = shift ? `${shift.previous_index_version} (${shift.previous_calibration_id})` : null;
  const meaning =
    outcome.reason === "first_calibration"
      ? `served: the new gate's first calibration, carrying ${shift?.previous_index_version ?? "v1"}'s drop rate`
      : outcome.activated
        ? `served: ${outcome.message.replace(/^served: /u, "")}`
        : outcome.message;
  console.log(`\n4. What is served: scoregate calibrate exited ${c2.status} (${meaning}).`);
  if (outcome.activated && shift?.compared_with === "carry_reference" && shift.not_alerted === "intended_carry") {
    console.log(
      `   Its shift against ${shift.previous_index_version} is "${shift.decision}" by design (0.4 no longer means what it did; the drop rate was carried), so no alert is raised.`,
    );
  } else if (outcome.activated && shift?.compared_with === "gate_current") {
    console.log(
      `   The gate already served ${shift.previous_index_version} from an earlier run of this example (${shift.previous_calibration_id}), so the shift compares with it, not with v1: "${shift.decision}".`,
    );
    console.log("   On a fresh state (rm -rf .wrangler/state before npm start) the new gate's first calibration is served instead.");
  } else if (!outcome.activated) {
    console.log(
      `   ${shift ? `Its shift against ${against} is "${shift.decision}". ` : ""}After review, promote it: scoregate activate ${cal2Id} --reason "e5-large-v3 rollout"`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
