/**
 * A promotion survives the whole Worker process being killed mid-step (`npm run test:e2e`, Node; vitest cannot
 * restart workerd). The Worker runs in Miniflare with its D1, KV and Durable Object storage in a directory of its own
 * (bench/lib/worker.mjs `stateDir`): v1 active, v2 promoted with a plan of [10, 50, 100], each arm of step 0 gets
 * half the queries the step needs, then workerd is killed with SIGKILL (no graceful shutdown, as a crash or an
 * evicted machine) and a new process is started on the same storage. The step must go on from the counts it had: the
 * evidence is read back, the other half of the queries is sent, and the step advances exactly once.
 *
 * Exit code 0 when every check holds, 1 otherwise (each failed check is printed).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "../../bench/lib/worker.mjs";

const TOKENS = { read: "dev-read", calibrate: "dev-calibrate", admin: "dev-admin" };
const GATE = { index: "restart", embedding: "e5", reranker: "bge" };
const failures = [];
const check = (ok, what, got) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${ok ? "" : `: got ${JSON.stringify(got)}`}`);
  if (!ok) failures.push(what);
};

/** Golden-ratio scores (deterministic), cut into queries of 20, as the workerd tests upload. */
const queriesOf = (n, offset) => {
  const scores = Array.from({ length: n }, (_, i) => offset + (((i + 1) * 0.6180339887498949) % 1));
  return Array.from({ length: n / 20 }, (_, q) => scores.slice(q * 20, q * 20 + 20));
};
/** Queries at the calibrations' 20 % drop rate, varying per query. */
const onTarget = (n) => Array.from({ length: n }, (_, j) => (j % 2 ? [20, 2] : [20, 6]));

async function api(h, method, path, token, body) {
  const res = await fetch(new URL(path, h.url), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const stateDir = mkdtempSync(join(tmpdir(), "scoregate-restart-"));
let h = null;
try {
  h = await startWorker({ stateDir });
  const upload = async (index_version, offset, activate) =>
    (
      await api(h, "POST", "/v1/calibrations", TOKENS.calibrate, {
        ...GATE,
        index_version,
        queries: queriesOf(4000, offset),
        policy: { kind: "drop_rate", target: 0.2 },
        activate,
      })
    ).calibration;
  const v1 = await upload("v1", 0, true);
  const v2 = await upload("v2", 0.3, false);
  const p = await api(h, "POST", `/v1/calibrations/${v2.id}/promote`, TOKENS.admin, { min_queries: 200, tolerance: 0.05 });
  const arm = (batch_id, calibration_id, a) => ({ batch_id, calibration_id, promotion: { id: p.id, step: 0, arm: a }, queries: onTarget(100) });
  await api(h, "POST", "/v1/observations", TOKENS.read, arm("ctl-1", v1.id, "control"));
  await api(h, "POST", "/v1/observations", TOKENS.read, arm("cand-1", v2.id, "candidate"));
  const before = await api(h, "GET", `/v1/promotions/${p.id}`, TOKENS.read);
  check(
    before.state === "running" && before.evidence?.candidate_queries === 100,
    "mid-step before the kill: running, 100 candidate queries",
    before.evidence,
  );

  // Killed, not shut down: nothing gets to flush or finish.
  if (h.workerdPid === null) throw new Error("the workerd process was not found (Linux only): it cannot be killed");
  process.kill(h.workerdPid, "SIGKILL");
  await h.close().catch(() => {});
  h = await startWorker({ stateDir, migrate: false });

  const after = await api(h, "GET", `/v1/promotions/${p.id}`, TOKENS.read);
  check(after.state === "running" && after.step === 0 && after.version === 1, "after the restart: the same step, the same version", after);
  check(
    after.evidence?.candidate_queries === 100 && after.evidence?.control_queries === 100,
    "after the restart: the step's evidence kept",
    after.evidence,
  );
  const replay = await api(h, "POST", "/v1/observations", TOKENS.read, arm("cand-1", v2.id, "candidate"));
  check(replay.duplicate === true, "a batch counted before the kill is still a duplicate", replay);
  await api(h, "POST", "/v1/observations", TOKENS.read, arm("ctl-2", v1.id, "control"));
  await api(h, "POST", "/v1/observations", TOKENS.read, arm("cand-2", v2.id, "candidate"));
  const done = await api(h, "GET", `/v1/promotions/${p.id}`, TOKENS.read);
  check(
    done.state === "running" && done.step === 1 && JSON.stringify(done.steps.map((s) => s.kind)) === '["started","advanced"]',
    "the step advanced once, on the evidence of both processes",
    { state: done.state, step: done.step, steps: done.steps.map((s) => s.kind) },
  );
  check(done.steps[1]?.numbers?.candidate_queries === 200, "the advance counted 200 candidate queries", done.steps[1]?.numbers);
} finally {
  await h?.close().catch(() => {});
  rmSync(stateDir, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
