/**
 * What a gate pays per batch once its rate tests restarted apart (src/monitoring/window.ts restartDetector): a test
 * that alarmed alone goes on from a detector of its own, so a guarded, abstaining gate that had one incident updates
 * two or three detectors per batch instead of one, and stores two or three in its window. This measures the monitor's
 * per-batch work as the GateMonitor does it (add the batch, evaluate every test, write the window as JSON) for the same
 * batches with one shared detector, with the drop rate's own, and with the drop rate's and the abstention's own, and
 * the window's stored size, interleaved in one run so the ratios compare like with like.
 *
 *   npm run bench:parted
 */
import { calibrate } from "../src/calibrations/calibrate";
import { expectationOf } from "../src/calibrations/expectation";
import { CalibrationMeta } from "../src/contract";
import { addBatch, evaluateWindow, newWindow, type WindowState } from "../src/monitoring/window";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { decideQuery } from "../src/stats/guard-rule";
import { flattenQueries, type QueryObservation } from "../src/stats/per-query";
import { memoryDeps } from "../test/support/memory-deps";
import { createRng, type Rng } from "../test/support/prng";
import { machineLine, numberOption, writeReport } from "./lib/report";

const NOW = Date.UTC(2026, 11, 2, 10, 0, 0);
const CONFIG = DEFAULT_DRIFT_CONFIG;
const BATCHES = numberOption("batches", 300);
const REPEATS = numberOption("repeats", 5);
const SIZES = [5, 10, 20];

function query(rng: Rng, m: number): number[] {
  const base = rng.normal();
  return Array.from({ length: m }, () => base + rng.normal());
}
const size = (rng: Rng): number => SIZES[Math.floor(rng.next() * SIZES.length)]!;

/** The guarded, abstaining gate of test/monitoring/per-test-restart.test.ts: drop 0.5, min_keep 2, max_keep 8, abstaining on 20 %. */
const rng = createRng(1);
const meta = CalibrationMeta.parse({
  index: "docs",
  embedding: "e5@v1",
  reranker: "bge@v2",
  index_version: "v1",
  policy: { kind: "drop_rate", target: 0.5, min_keep: 2, max_keep: 8, abstention: { rate: 0.2 } },
});
const qs = Array.from({ length: 900 }, () => query(rng, size(rng)));
const c = (await calibrate({ meta, ...flattenQueries(qs) }, "bench", memoryDeps({ startMs: NOW }).deps)).calibration;
const policy = { threshold: c.threshold, minKeep: 2, maxKeep: 8, abstainBelow: c.abstain_below ?? null };

/** Healthy batches of 20 queries, the same for every configuration. */
const traffic = createRng(7);
const batches: QueryObservation[][] = Array.from({ length: 2 * BATCHES }, () =>
  Array.from({ length: 20 }, () => {
    const d = decideQuery(query(traffic, size(traffic)), policy);
    return [d.kept.length, d.dropped, d.below, d.abstain ? 1 : 0] as const;
  }),
);

/** A window warmed up with the first BATCHES batches (its detector holding starts, as a day's window does). */
let warm = newWindow(c.id, c.index_version, expectationOf(c), NOW);
for (let b = 0; b < BATCHES; b++) warm = addBatch(warm, batches[b]!, null, () => 0.5, NOW + b * 1000, CONFIG);
const parted = (tests: ("drop_rate" | "abstention")[]): WindowState =>
  tests.length === 0 ? warm : { ...warm, test_detectors: Object.fromEntries(tests.map((t) => [t, structuredClone(warm.detector!)])) };
const CONFIGS = [
  { name: "one shared detector", start: parted([]) },
  { name: "the drop rate's own", start: parted(["drop_rate"]) },
  { name: "the drop rate's and the abstention's own", start: parted(["drop_rate", "abstention"]) },
];

/** The next BATCHES batches as the GateMonitor runs them: add, evaluate every test, write the window as JSON. */
function timed(start: WindowState): { ms: number; bytes: number } {
  let w: WindowState = JSON.parse(JSON.stringify(start));
  let bytes = 0;
  const t0 = performance.now();
  for (let b = BATCHES; b < 2 * BATCHES; b++) {
    w = addBatch(w, batches[b]!, null, () => 0.5, NOW + b * 1000, CONFIG);
    evaluateWindow(w, CONFIG);
    const json = JSON.stringify(w);
    bytes = json.length;
    w = JSON.parse(json);
  }
  return { ms: performance.now() - t0, bytes };
}

const runs = CONFIGS.map(() => [] as number[]);
const sizes = CONFIGS.map(() => 0);
timed(CONFIGS[0]!.start); // warm the JIT once, not counted
for (let r = 0; r < REPEATS; r++)
  CONFIGS.forEach((cfg, i) => {
    const t = timed(cfg.start);
    runs[i]!.push(t.ms);
    sizes[i] = t.bytes;
  });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(runs[0]!);
const lines = [
  `# Parted detectors: the monitor's per-batch work after tests restarted apart`,
  "",
  machineLine(),
  `${BATCHES} healthy batches of 20 queries after ${BATCHES} of warm-up, ${REPEATS} interleaved repeats (median)`,
  "",
  "| detectors | per batch | against shared | window JSON |",
  "| --- | ---: | ---: | ---: |",
  ...CONFIGS.map((cfg, i) => {
    const m = median(runs[i]!);
    return `| ${cfg.name} | ${((1000 * m) / BATCHES).toFixed(0)} µs | ${(m / base).toFixed(2)}x | ${(sizes[i]! / 1024).toFixed(1)} KiB |`;
  }),
];
writeReport("bench/results/parted-detectors.md", lines);
