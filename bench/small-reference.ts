/**
 * A small clustered reference: the live decision's false `shifted` on the tolerance's edge, and its power and queries to
 * a decision, for a reference of 50, 400 and 4,000 queries, with the reference's design effect taken as estimated
 * (before) and at its upper confidence bound (after, src/stats/sequential-change.ts DESIGN_EFFECT_BOUND_LEVEL).
 *
 * Model (test/support/clustered-queries.ts, the generator of test/stats/sequential-level.test.ts): queries of 3 to 40
 * candidates (or exactly 20), beta-binomial drops at intra-query correlation 0.3. The reference's queries are drawn at
 * rate p, then the live side's at p + change, read every 25 live queries up to the horizon, tolerance 0.02, t* = 200,
 * the Worker's levels (monitoring/live-decision.ts). Both variants read the same draws (paired).
 *
 *   npx esbuild bench/small-reference.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/small-reference.mjs && npx node node_modules/.cache/scoregate-bench/small-reference.mjs
 * Options: --runs N (default 4000) for the level rows, --power-runs N (default 1000), --horizon N (default 6000),
 * --only level|power (default both), --rows 1,22 (scenarios, default all), --bounds none,0.05,default (the bound levels
 * compared, default none,default), --out PATH (default bench/results/small-reference.md).
 * Seeds depend on the row, never on which rows run.
 */
import { MIN_DECISION_QUERIES } from "../src/contract";
import { LIVE_EQUIVALENCE_ALPHA, LIVE_SHIFT_ALPHA } from "../src/monitoring/live-decision";
import { emptyClusterSums } from "../src/stats/per-query";
import { type ChangeSide, DESIGN_EFFECT_BOUND_LEVEL, decideChangeAnytime } from "../src/stats/sequential-change";
import { addQuery, clusteredDropQuery, sideOf } from "../test/support/clustered-queries";
import { createRng, deriveSeed } from "../test/support/prng";
import { clopperPearson, machineLine, numberOption, stringOption, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 4000);
const POWER_RUNS = numberOption("power-runs", 1000);
const HORIZON = numberOption("horizon", 6000);
const ONLY = stringOption("only", "both");
const OUT = stringOption("out", "bench/results/small-reference.md");
/**
 * `--bounds none,0.05,default`: the reference's design-effect bound levels compared (none: the estimate, as before the
 * bound; default: DESIGN_EFFECT_BOUND_LEVEL).
 */
const BOUNDS = stringOption("bounds", "none,default").split(",");
/** `--rows 1,12`: only these scenarios (default all). */
const ROW_FILTER = stringOption("rows", "");
const BATCH = 25;
const TOL = 0.02;
const PLANNED = 200;
const levels = {
  alphaShift: LIVE_SHIFT_ALPHA,
  alphaEquivalence: LIVE_EQUIVALENCE_ALPHA,
  plannedQueries: PLANNED,
  minQueries: MIN_DECISION_QUERIES,
};
interface Variant {
  readonly name: string;
  readonly bound: number | null;
}
const VARIANTS: readonly Variant[] = BOUNDS.map((b) => {
  if (b === "none") return { name: "before (estimate)", bound: null };
  const bound = b === "default" ? DESIGN_EFFECT_BOUND_LEVEL : Number(b);
  if (!(bound > 0 && bound < 0.5)) throw new RangeError(`--bounds: ${b} is not none, default or a level in (0, 0.5)`);
  return { name: `bound ${bound}`, bound };
});

interface Row {
  readonly scenario: number;
  readonly kind: "level" | "power";
  readonly p: number;
  readonly size: number | null;
  readonly refQueries: number;
  readonly change: number;
}

const ALL_ROWS: readonly Row[] = [
  { scenario: 1, kind: "level", p: 0.05, size: null, refQueries: 50, change: TOL },
  { scenario: 2, kind: "level", p: 0.05, size: null, refQueries: 400, change: TOL },
  { scenario: 3, kind: "level", p: 0.05, size: null, refQueries: 4000, change: TOL },
  { scenario: 4, kind: "level", p: 0.22, size: 20, refQueries: 50, change: TOL },
  { scenario: 5, kind: "level", p: 0.22, size: 20, refQueries: 400, change: TOL },
  { scenario: 13, kind: "power", p: 0.05, size: null, refQueries: 4000, change: 0 },
  { scenario: 15, kind: "power", p: 0.22, size: 20, refQueries: 4000, change: 0 },
  { scenario: 21, kind: "power", p: 0.05, size: null, refQueries: 50, change: 0.15 },
  { scenario: 22, kind: "power", p: 0.05, size: null, refQueries: 400, change: 0.06 },
  { scenario: 27, kind: "power", p: 0.05, size: null, refQueries: 400, change: 0.08 },
  { scenario: 23, kind: "power", p: 0.05, size: null, refQueries: 4000, change: 0.04 },
  { scenario: 24, kind: "power", p: 0.22, size: 20, refQueries: 50, change: 0.2 },
  { scenario: 25, kind: "power", p: 0.22, size: 20, refQueries: 400, change: 0.08 },
  { scenario: 28, kind: "power", p: 0.22, size: 20, refQueries: 400, change: 0.1 },
  { scenario: 26, kind: "power", p: 0.22, size: 20, refQueries: 4000, change: 0.05 },
];

const ROWS = ROW_FILTER === "" ? ALL_ROWS : ALL_ROWS.filter((r) => ROW_FILTER.split(",").map(Number).includes(r.scenario));

interface Tally {
  everShifted: number;
  everEquivalent: number;
  /** Live queries to the first `shifted` / `equivalent` per run (null: none by the horizon). */
  readonly firstShifted: (number | null)[];
  readonly firstEquivalent: (number | null)[];
}

function runRow(row: Row, runs: number): Tally[] {
  const tallies: Tally[] = VARIANTS.map(() => ({ everShifted: 0, everEquivalent: 0, firstShifted: [], firstEquivalent: [] }));
  for (let r = 0; r < runs; r++) {
    const rng = createRng(deriveSeed(7300 + row.scenario, r));
    const ref = emptyClusterSums();
    for (let q = 0; q < row.refQueries; q++) addQuery(ref, ...clusteredDropQuery(rng, row.p, row.size));
    const reference: ChangeSide = sideOf(ref);
    const live = emptyClusterSums();
    const first = VARIANTS.map(() => ({ shifted: null as number | null, equivalent: null as number | null }));
    for (let q = 1; q <= HORIZON; q++) {
      addQuery(live, ...clusteredDropQuery(rng, row.p + row.change, row.size));
      if (q % BATCH !== 0) continue;
      const liveSide = sideOf(live);
      VARIANTS.forEach((v, i) => {
        const f = first[i]!;
        if (f.shifted !== null && f.equivalent !== null) return;
        const d = decideChangeAnytime(reference, liveSide, TOL, { ...levels, designEffectBound: v.bound });
        if (d.decision === "shifted" && f.shifted === null) f.shifted = q;
        if (d.decision === "equivalent" && f.equivalent === null) f.equivalent = q;
      });
      if (first.every((f) => f.shifted !== null && f.equivalent !== null)) break;
    }
    first.forEach((f, i) => {
      const t = tallies[i]!;
      if (f.shifted !== null) t.everShifted++;
      if (f.equivalent !== null) t.everEquivalent++;
      t.firstShifted.push(f.shifted);
      t.firstEquivalent.push(f.equivalent);
    });
  }
  return tallies;
}

const pct = (x: number, n: number): string => `${((100 * x) / n).toFixed(2)} %`;
const ci = (x: number, n: number): string => {
  const [lo, hi] = clopperPearson(x, n);
  return `${(100 * lo).toFixed(2)}-${(100 * hi).toFixed(2)} %`;
};
const fmt = (x: number): string => x.toLocaleString("en-US");

/** Median of the first-decision queries counting a run without one as beyond the horizon (">H" when it is). */
function median(first: readonly (number | null)[]): string {
  const sorted = first.map((x) => x ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  const m = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return Number.isFinite(m) ? fmt(m) : `> ${fmt(HORIZON)}`;
}

const started = Date.now();
const lines: string[] = [
  `# Small clustered reference: level and power of the live decision (${machineLine()})`,
  "",
  `Tolerance ${TOL}, t* = ${PLANNED}, read every ${BATCH} live queries up to ${fmt(HORIZON)}; queries of 3 to 40 candidates (20: "q20"), ICC 0.3.`,
  "",
  "## Level on the tolerance's edge (true change +0.02): runs that ever read `shifted` (level 0.1 %) or `equivalent` (level 5 %)",
  "",
  `| reference | rate | ${VARIANTS.map((v) => `${v.name}: false shifted (95 % CI) | ${v.name}: false equivalent`).join(" | ")} |`,
  `| --- | ---: | ${VARIANTS.map(() => "---: | ---:").join(" | ")} |`,
];
if (ONLY !== "power") {
  for (const row of ROWS.filter((x) => x.kind === "level")) {
    const t = runRow(row, RUNS);
    lines.push(
      `| ${fmt(row.refQueries)} queries${row.size ? " (q20)" : ""} | ${row.p * 100} % | ${t
        .map(
          (x) =>
            `${x.everShifted} / ${fmt(RUNS)}, ${pct(x.everShifted, RUNS)} (${ci(x.everShifted, RUNS)}) | ${x.everEquivalent}, ${pct(x.everEquivalent, RUNS)}`,
        )
        .join(" | ")} |`,
    );
    console.error(`level row ${row.scenario} done at ${Math.round((Date.now() - started) / 1000)} s`);
  }
}
lines.push(
  "",
  `## Power: runs reaching the right answer by ${fmt(HORIZON)} live queries, and the median live queries to it`,
  "",
  `| reference | rate | true change | right answer | ${VARIANTS.map((v) => `${v.name}: reached / median queries`).join(" | ")} |`,
  `| --- | ---: | ---: | --- | ${VARIANTS.map(() => "---:").join(" | ")} |`,
);
if (ONLY !== "level") {
  for (const row of ROWS.filter((x) => x.kind === "power")) {
    const t = runRow(row, POWER_RUNS);
    const right = row.change === 0 ? "equivalent" : "shifted";
    lines.push(
      `| ${fmt(row.refQueries)} queries${row.size ? " (q20)" : ""} | ${row.p * 100} % | +${row.change} | ${right} | ${t
        .map((x) => {
          const first = right === "equivalent" ? x.firstEquivalent : x.firstShifted;
          const reached = first.filter((f) => f !== null).length;
          return `${pct(reached, POWER_RUNS)} / ${median(first)}`;
        })
        .join(" | ")} |`,
    );
    console.error(`power row ${row.scenario} done at ${Math.round((Date.now() - started) / 1000)} s`);
  }
}
lines.push("", `${Math.round((Date.now() - started) / 1000)} s.`);
writeReport(OUT, lines);
