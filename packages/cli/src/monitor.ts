/**
 * `scoregate monitor`: a gate's production monitor as GET /v1/monitor reports it: its drift state, each open daily
 * window (whose traffic, queries, observed drop rate against the expected one and its band, alarms; for a calibration
 * that abstains its abstention rate, and for one with a min_keep guard how often the guard binds, each against its
 * expected rate) and the finished windows newest first. Candidates services reported without a score (the fifth count of a query: a reranker failing
 * for them) are not in the drop rate, which reads the scored ones: each window then says how many of its reported
 * candidates had none, and the gate's newest unscored_candidates alert that is not resolved is printed with its
 * sentence, so an outage shows where the rates alone would only look quieter. A gate whose services never report
 * one prints no unscored figure. A recall gate's coverage tests (judged queries, POST /v1/judgments) follow the open
 * windows (./coverage-lines), the numbers of the test that raised a standing recall_drift alarm among them.
 */
import type { z } from "zod";
import {
  type Alert,
  type AlertList,
  type DriftState,
  MONITORED_QUERY_SHARE_WARNING,
  type MonitorCoverage,
  type MonitorStatus,
  type MonitorWindow,
} from "../../../src/contract";
import { AlertsAnswer, checkedAnswer, MonitorAnswer } from "./answers";
import { type GateFlags, gateFlags, gateTitle } from "./args";
import type { Ctx } from "./context";
import { coverageLines } from "./coverage-lines";
import { EXIT } from "./decision";
import { count, percent, prose } from "./format";
import { CliError } from "./http";

/** A window's unscored candidates and their share of the candidates reported in it, scored and unscored (null: none reported). */
export function unscoredOf(w: Pick<MonitorWindow, "candidates" | "unscored_candidates">): {
  unscored: number;
  reported: number;
  share: number | null;
} {
  const unscored = w.unscored_candidates ?? 0;
  const reported = w.candidates + unscored;
  return { unscored, reported, share: reported > 0 ? unscored / reported : null };
}

/** What --json prints of a window: the server's, with the unscored share beside its count. */
const withShare = (w: MonitorWindow) => ({ ...w, unscored_share: unscoredOf(w).share });

/** "unscored 612 of 12,612 reported candidates (4.9 %)"; "unscored 0" when every one had a score. */
function unscoredWords(w: MonitorWindow): string {
  const u = unscoredOf(w);
  return u.unscored === 0 ? "unscored 0" : `unscored ${count(u.unscored)} of ${count(u.reported)} reported candidates (${percent(u.share)})`;
}

/** The drift state in one line: "watching", "alarm since T: drop_rate_drift (alr_1)", "not armed: 40 more queries ...". */
function stateWords(s: DriftState): string {
  switch (s.state) {
    case "alarm":
      return `alarm since ${s.since ?? "now"}: ${s.alerts.map((a) => `${a.kind} (${a.alert_id ?? "not stored yet"})`).join(", ") || s.kinds.join(", ")}`;
    case "not_armed":
      // null: no number of queries arms a test (a calibration too small to bound its rates), not "wait a little"
      return s.queries_to_arm === null
        ? "not armed: the served calibration is too small to bound its rates (calibration_too_small), so no test can alarm until a larger one is served"
        : `not armed: ${count(s.queries_to_arm)} more queries before a test can alarm`;
    case "no_observations":
      return "no observations";
    case "watching":
      return "watching";
    default:
      return ((x: never) => String(x))(s.state);
  }
}

type Rate = MonitorWindow["drop_rate"];

/** The expected rate a window's observed one compares with: for its own queries' sizes when the test is stratified. */
const expectedOf = (t: Rate): number => t.expected_window ?? t.expected;

function expectedWords(t: Rate): string {
  const band = t.band_window ?? t.band;
  // a stratified test's own figure (the dashboard's and the alert's are for the detector's data since its reset): said
  // so, or the three read as disagreeing
  const own = t.expected_window != null ? " for this window's query sizes" : "";
  return `expected ${percent(expectedOf(t))}${own}, band ${percent(band.lo)} to ${percent(band.hi)}`;
}

/**
 * A min_keep gate's guard-binding test: with min_keep = L >= 1 the window's empty-context test counts the queries whose
 * threshold alone kept fewer than min(L, candidates), where the guard binds (a guarded gate is never empty). null otherwise.
 */
function guardOf(w: MonitorWindow): { level: number; test: Rate } | null {
  const level = w.empty_context_level ?? 0;
  return level >= 1 && w.empty_context ? { level, test: w.empty_context } : null;
}

/**
 * A stratified test (a guarded gate's drop rate, abstention) watches only the query sizes its calibration holds enough
 * of: when production's share in them is below MONITORED_QUERY_SHARE_WARNING, a line says how much goes unwatched
 * (`what`: the test's name, `units`: what its share counts). For abstention it also says what it means for the
 * certificate: a certified bound covers queries like the calibration's, sizes included (docs/methods.md).
 */
function unwatchedLines(pad: string, t: Rate, what: string, units: string, abstention: boolean): string[] {
  if (t.strata_tested === undefined || t.tested_share == null || t.tested_share >= MONITORED_QUERY_SHARE_WARNING) return [];
  const sizes = `${t.strata_tested} of the ${t.strata_total ?? t.strata_tested} query sizes the calibration holds`;
  const cover = abstention
    ? "; a certified false-abstention bound does not cover them either: calibrate on queries of the sizes production sends"
    : "";
  return [
    `${pad}${what} watches ${sizes}, with ${percent(t.tested_share)} of production's ${units} since its reset: the other ${percent(1 - t.tested_share)} are not tested${cover}`,
  ];
}

/** An open window's abstention and guard-binding lines, when its calibration abstains or has a min_keep guard. */
function ruleLines(w: MonitorWindow): string[] {
  const pad = `  ${"".padEnd(10)} `;
  const a = w.abstention;
  const g = guardOf(w);
  return [
    ...unwatchedLines(pad, w.drop_rate, "the drop-rate test", "candidates a threshold decides", false),
    ...(a
      ? [
          `${pad}abstention ${percent(a.observed)} of ${count(w.abstention_queries ?? 0)} queries that reported it (${expectedWords(a)})${a.alarm ? ", alarm" : ""}`,
          ...unwatchedLines(pad, a, "the abstention test", "queries that reported abstention", true),
        ]
      : []),
    ...(g
      ? [
          `${pad}min_keep binds on ${percent(g.test.observed)} of queries (the threshold alone keeps fewer than min(${g.level}, candidates); ${expectedWords(g.test)})${g.test.alarm ? ", alarm" : ""}`,
        ]
      : []),
  ];
}

function openLines(w: MonitorWindow, unscored: boolean): string[] {
  return [
    `  ${w.role.padEnd(10)} ${w.calibration_id} (${w.index_version}) since ${w.started_at}: ${count(w.queries)} queries, drop rate ${percent(w.drop_rate.observed)} (${expectedWords(w.drop_rate)}), ${count(w.alarms)} alarm(s)`,
    ...ruleLines(w),
    ...(unscored ? [`  ${"".padEnd(10)} ${unscoredWords(w)}`] : []),
  ];
}

function finishedLine(w: MonitorWindow, unscored: boolean): string {
  const a = w.abstention;
  const g = guardOf(w);
  const rules = [
    a ? `abstention ${percent(a.observed)} (expected ${percent(expectedOf(a))})` : null,
    g ? `min_keep binds ${percent(g.test.observed)} (expected ${percent(expectedOf(g.test))})` : null,
  ].filter((x) => x !== null);
  return `  ${w.started_at}  ${w.role.padEnd(10)} ${w.calibration_id} (${w.index_version})  ${count(w.queries)} queries  drop rate ${percent(w.drop_rate.observed)}${rules.map((r) => `  ${r}`).join("")}  ${count(w.alarms)} alarm(s)${unscored ? `  ${unscoredWords(w)}` : ""}`;
}

/** The alert's lines: its id, status and occurrences, then its sentence. */
function alertLines(a: Alert): string[] {
  return [
    `Unscored candidates alert ${a.id}, ${a.status} since ${a.first_seen_at} (x${a.occurrences}, last ${a.last_seen_at}):`,
    `    ${prose(a.summary)}`,
  ];
}

/**
 * The human report of a gate's monitor. `recall` is absent in the answer of a server from before judgments: no
 * coverage test.
 */
export function describeMonitor(m: MonitorStatus, alert: Alert | null, gate: GateFlags): string {
  const recall: readonly MonitorCoverage[] = (m as Partial<MonitorStatus>).recall ?? [];
  const all = [...m.windows, ...m.history];
  const unscored = all.some((w) => (w.unscored_candidates ?? 0) > 0);
  return [
    `Gate ${gateTitle(gate, m.gate_id)}: drift state ${stateWords(m.state)}`,
    ...(m.windows.length === 0
      ? ["No open window: no observations today."]
      : ["Open windows (24 h each):", ...m.windows.flatMap((w) => openLines(w, unscored))]),
    ...coverageLines(recall),
    ...(m.history.length === 0 ? [] : ["Finished windows, newest first:", ...m.history.map((w) => finishedLine(w, unscored))]),
    ...(alert === null ? [] : alertLines(alert)),
  ].join("\n");
}

/**
 * The gate's newest unscored_candidates alert if it is not resolved. It is not a drift alert (it holds no alarm
 * state), so it is read apart. A server from before that kind refuses it (400 bad_request): it has none to give.
 */
async function unscoredAlert(c: Ctx, gateId: string): Promise<Alert | null> {
  try {
    const res = await c.api().request<unknown>("listAlerts", { query: { gate_id: gateId, kind: "unscored_candidates", limit: 1 } });
    const page = checkedAnswer(AlertsAnswer, res.body, res.status, "a scoregate alert list") as z.infer<typeof AlertList>;
    const newest = page.alerts[0];
    return newest !== undefined && newest.status !== "resolved" ? newest : null;
  } catch (e) {
    if (e instanceof CliError && e.code === "bad_request") return null;
    throw e;
  }
}

export async function monitor(c: Ctx): Promise<number> {
  const gate = gateFlags(c.v, true);
  const res = await c.api().request<unknown>("getMonitor", { query: { ...gate } });
  const status = checkedAnswer(MonitorAnswer, res.body, res.status, "a scoregate monitor report") as MonitorStatus;
  const alert = await unscoredAlert(c, status.gate_id);
  if (c.json) {
    c.out(JSON.stringify({ ...status, windows: status.windows.map(withShare), history: status.history.map(withShare), unscored_alert: alert }));
    return EXIT.ok;
  }
  c.out(describeMonitor(status, alert, gate));
  return EXIT.ok;
}
