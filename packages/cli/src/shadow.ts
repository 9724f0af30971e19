/**
 * `scoregate shadow`: put a stored calibration in shadow on its gate, change an existing shadow's sample rate, or take
 * it out with --remove; then print its live decision on mirrored traffic and its drift window's alarms. The exit code follows the decision against the active gate, for pipelines: 0
 * equivalent, 3 shifted (or shifted against its own target, or a drift alarm of its window), 4 not decided yet.
 */
import {
  type Calibration,
  MAX_MORE_DATA_FACTOR_SHOWN,
  MIN_DECISION_QUERIES,
  MIN_SHADOW_SAMPLE_RATE,
  type ShadowList,
  type ShadowStatus,
} from "../../../src/contract";
import { num, oneId, usage } from "./args";
import type { Ctx } from "./context";
import { EXIT } from "./decision";
import { count, percent, pointWidth } from "./format";
import { CliError, GENERIC_STATE_HINT } from "./http";
import { liveDecisionText } from "./live";
import { sendChange } from "./promote";
import { gateFlagWords } from "./suggest";

type LiveDecision = ShadowStatus["vs_active"];

/**
 * Why there is no interval yet. Against the active gate the reference side is the active gate's queries since the
 * shadow's first batch (`reference_queries`; null or 0 when none came since, however many it served before), so a
 * shadow with enough mirrored queries of its own is said to wait for that side.
 */
function noInterval(d: LiveDecision, vsActive: boolean): string {
  const reference = d.reference_queries ?? 0;
  if (vsActive && d.queries >= MIN_DECISION_QUERIES && reference < MIN_DECISION_QUERIES)
    return reference === 0
      ? "; the active gate has no queries since the shadow's first batch: its side of the comparison is empty"
      : `; the active gate has ${count(reference)} queries since the shadow's first batch, too few for an interval yet (at least ${count(MIN_DECISION_QUERIES)} on each side)`;
  return `; too few queries for an interval yet (at least ${count(MIN_DECISION_QUERIES)} on each side)`;
}

function moreQueries(d: LiveDecision, vsActive: boolean): string {
  const f = d.more_data_factor;
  // no interval yet: fewer than MIN_DECISION_QUERIES on a side, so no estimate of how many more would decide it
  if (d.decision === "inconclusive" && d.interval95 === null) return noInterval(d, vsActive);
  if (f === null) return "";
  if (f > MAX_MORE_DATA_FACTOR_SHOWN) return "; the estimate sits on the tolerance's edge: no practical number of queries decides it";
  return `; about ${count(Math.ceil(d.queries * (f - 1)))} more queries to decide`;
}

function decisionLine(label: string, d: LiveDecision): string {
  const more = moreQueries(d, label === "vs active");
  return `  ${label.padEnd(13)} ${liveDecisionText(d)}, tolerance ${pointWidth(d.tolerance)} points, ${count(d.queries)} queries${more}`;
}

/** A guarded shadow's target for the mirrored queries' own sizes, when it differs from the calibration's rate. */
function forSizes(s: ShadowStatus): string {
  const t = s.target_drop_rate;
  return t === undefined || percent(t) === percent(s.expected_drop_rate) ? "" : `; ${percent(t)} for these queries' sizes, what vs target uses`;
}

type Window = NonNullable<ShadowStatus["drift"]>;
type Rate = Window["drop_rate"];

/**
 * The shadow's drift tests that alarm, or whose alarm's numbers the window keeps, each with the rate it read against
 * the expected one (the numbers at the alarm when kept: the detector restarts at each alarm): the drop rate, the
 * abstention rate, and where queries are left empty, or for a min_keep gate where the guard binds.
 */
function alarmedTests(w: Window): string[] {
  const tests: [string, Rate | null | undefined][] = [
    ["drop rate", w.drop_rate],
    ["abstention", w.abstention],
    [(w.empty_context_level ?? 0) >= 1 ? "min_keep binding" : "empty context", w.empty_context],
  ];
  return tests.flatMap(([name, t]) => {
    if (!t || !(t.alarm || t.alarmed)) return [];
    const at = t.alarmed ?? t;
    return [
      `${name} ${percent(at.observed)} against ${percent(at.expected_window ?? at.expected)} expected${t.alarmed ? ` (at ${t.alarmed.at})` : ""}`,
    ];
  });
}

/**
 * The shadow's drift alarms in lines: its window's tests that alarm, or, when the window counted alarms whose tests
 * have restarted since, how many. None without an alarm (or a window).
 */
export function driftAlarmLines(s: ShadowStatus): string[] {
  const w = s.drift;
  if (w === null || w === undefined) return [];
  const tests = alarmedTests(w);
  if (tests.length === 0 && w.alarms === 0) return [];
  const head = "  drift alarm   ";
  const counted =
    w.alarms === 0
      ? "a shadow never alerts the gate"
      : `the shadow's drift window (since ${w.started_at}) alarmed ${count(w.alarms)} time(s); a shadow never alerts the gate`;
  return tests.length === 0 ? [`${head}${counted}`] : [...tests.map((t) => `${head}${t}`), `${"".padEnd(head.length)}${counted}`];
}

/** One shadow's live evaluation in a few lines. */
export function describeShadow(s: ShadowStatus): string {
  return [
    `Shadow ${s.calibration_id} (index version ${s.index_version}), ${percent(s.sample_rate)} of queries mirrored since ${s.since}`,
    `  drop rate     ${s.drop_rate === null ? "-" : percent(s.drop_rate)} on ${count(s.queries)} mirrored queries (expected ${percent(s.expected_drop_rate)}${forSizes(s)})`,
    decisionLine("vs target", s.vs_target),
    decisionLine("vs active", s.vs_active),
    ...driftAlarmLines(s),
  ].join("\n");
}

/**
 * The exit code of a shadow's evaluation: shifted on either comparison, or a drift alarm of its window (its drop rate,
 * abstention or guard binding drifted from its calibration), is 3; equivalent against the active gate 0.
 */
export function shadowExitCode(s: ShadowStatus): number {
  if (s.vs_active.decision === "shifted" || s.vs_target.decision === "shifted" || driftAlarmLines(s).length > 0) return EXIT.shifted;
  return s.vs_active.decision === "equivalent" ? EXIT.ok : EXIT.inconclusive;
}

export async function shadow(c: Ctx): Promise<number> {
  const id = oneId(c.positionals, "shadow takes one calibration id: scoregate shadow cal_... [--sample-rate R] [--remove]");
  const sampleRate = num(
    c.v["sample-rate"],
    "--sample-rate",
    (x) => x >= MIN_SHADOW_SAMPLE_RATE && x <= 1,
    `a share of queries from ${MIN_SHADOW_SAMPLE_RATE} (one key in 10,000) to 1, e.g. 0.1`,
  );
  // Each change goes with an Idempotency-Key of this run, sent again with it after a failure (promote.ts sendChange).
  const shown = "the gate's shadows: GET /v1/gates/{gate_id}/shadows";
  const reason = c.v.reason === undefined ? {} : { reason: c.v.reason };
  if (c.v.remove === true) {
    if (sampleRate !== undefined) throw usage("--remove and --sample-rate cannot be combined");
    const res = await sendChange<{ shadows: unknown[] }>(c, "removeShadow", { params: { id }, body: reason }, shown).catch(async (e: unknown) => {
      throw await notAShadow(c, id, e);
    });
    c.out(c.json ? JSON.stringify(res.body) : `${id} is no longer a shadow; the gate has ${res.body.shadows.length} shadow(s) left`);
    return EXIT.ok;
  }
  const cal = await c.api().request<Calibration>("getCalibration", { params: { id } });
  const read = async () =>
    (await c.api().request<ShadowList>("listShadows", { params: { gate_id: cal.body.gate_id } })).body.shadows.find((s) => s.calibration_id === id);
  let status = await read();
  if (status === undefined && cal.body.active === true) {
    // served (activated, or promoted to 100 %): a shadow's evaluation ends when it is served, and a served calibration
    // cannot be one; say so rather than relay the server's 409 to what reads like a status query
    throw usage(
      `${id} is served on its gate (${cal.body.current ? "its current calibration" : `index version ${cal.body.index_version}`}), not a shadow: a served calibration cannot be one (a shadow's live evaluation ends when it is served)`,
      `scoregate threshold ${gateFlagWords(cal.body)} shows what the gate serves; a shadow is a calibration it does not serve (scoregate history ${gateFlagWords(cal.body)} lists them)`,
    );
  }
  // whether this run put it in shadow (the human output says so on stderr; --json in `added`)
  let added = false;
  if (status === undefined) {
    added = true;
    await sendChange(
      c,
      "addShadow",
      { params: { id }, body: { ...(sampleRate === undefined ? {} : { sample_rate: sampleRate }), ...reason } },
      shown,
    );
    status = await read();
    if (!c.json && status !== undefined)
      c.warn(
        `${id} put in shadow on its gate at ${percent(status.sample_rate)} of queries${sampleRate === undefined ? " (the server's default; --sample-rate R chooses)" : ""}`,
      );
  } else if (sampleRate !== undefined && sampleRate !== status.sample_rate) {
    // a shadow's rate changes in place: its evidence so far is kept (a second POST is refused)
    const before = status.sample_rate;
    await sendChange(c, "changeShadowRate", { params: { id }, body: { sample_rate: sampleRate, ...reason } }, shown);
    status = await read();
    if (!c.json && status !== undefined)
      c.warn(`${id}'s sample rate changed from ${percent(before)} to ${percent(status.sample_rate)} of queries; its evidence so far is kept`);
  } else if (sampleRate !== undefined && !c.json) {
    // a rerun of the same command: say that nothing changed, or the status alone reads as if it had
    c.warn(`${id} is already in shadow at ${percent(status.sample_rate)} of queries: nothing changed`);
  }
  if (status === undefined) throw usage(`${id} is not among its gate's shadows after adding it: is it the gate's current calibration?`);
  const code = shadowExitCode(status);
  c.out(c.json ? JSON.stringify({ ...status, decision: SHADOW_DECISIONS[code], exit_code: code, added }) : describeShadow(status));
  return code;
}

/**
 * A removal refused because `id` is not a shadow of its gate (409 conflict, src/promotions/shadows.ts): the refusal
 * with what to do instead of the generic hint, naming the gate's flags when the calibration can be read: it is served
 * (nothing to remove), or it is not among the gate's shadows, which `scoregate threshold` lists (a rerun of a removal
 * gets this refusal too: then nothing is left to do). Any other failure as it came.
 */
async function notAShadow(c: Ctx, id: string, e: unknown): Promise<unknown> {
  if (!(e instanceof CliError) || e.server?.status !== 409 || !/is not a shadow of its gate/u.test(e.server.message)) return e;
  const cal = await c
    .api()
    .request<Calibration>("getCalibration", { params: { id } })
    .then((r) => r.body)
    .catch(() => null);
  const flags = cal === null ? "--index I --embedding E --reranker R" : gateFlagWords(cal);
  const hint =
    cal?.active === true
      ? `${id} is served on its gate (${cal.current ? "its current calibration" : `index version ${cal.index_version}`}), not a shadow: nothing to remove; scoregate threshold ${flags} shows what the gate serves and its shadows`
      : `nothing to remove (if an earlier run removed it, nothing is left to do): scoregate threshold ${flags} lists the gate's shadows, each with its sample rate${cal === null ? " (scoregate gates lists every gate's)" : ""}`;
  return new CliError(e.message, e.exitCode, e.code, [...e.hints.filter((h) => h !== GENERIC_STATE_HINT), hint], e.server, e.notSent);
}

/**
 * The decision its exit code stands for, in `--json` beside `exit_code` (as calibrate's): "shifted" on either
 * comparison or a drift alarm, "equivalent" against the active gate, else "inconclusive" (not decided yet).
 */
const SHADOW_DECISIONS: Record<number, "equivalent" | "shifted" | "inconclusive"> = {
  [EXIT.ok]: "equivalent",
  [EXIT.shifted]: "shifted",
  [EXIT.inconclusive]: "inconclusive",
};
