/**
 * `scoregate monitor`: a gate's production monitor as GET /v1/monitor reports it: its drift state, each open daily
 * window (whose traffic, queries, observed drop rate against the expected one and its band, alarms) and the finished
 * windows newest first. Candidates services reported without a score (the fifth count of a query: a reranker failing
 * for them) are not in the drop rate, which reads the scored ones: each window then says how many of its reported
 * candidates had none, and the gate's newest unscored_candidates alert that is not resolved is printed with its
 * sentence, so an outage shows where the rates alone would only look quieter. A gate whose services never report
 * one prints no unscored figure.
 */
import type { z } from "zod";
import type { Alert, AlertList, DriftState, MonitorStatus, MonitorWindow } from "../../../src/contract";
import { AlertsAnswer, checkedAnswer, MonitorAnswer } from "./answers";
import { gateFlags } from "./args";
import type { Ctx } from "./context";
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

/** The drift state in one line: "watching", "alarm since T: drop_rate_drift (alr_1)", "not armed: 40 more queries". */
function stateWords(s: DriftState): string {
  switch (s.state) {
    case "alarm":
      return `alarm since ${s.since ?? "now"}: ${s.alerts.map((a) => `${a.kind} (${a.alert_id ?? "not stored yet"})`).join(", ") || s.kinds.join(", ")}`;
    case "not_armed":
      return `not armed${s.queries_to_arm === null ? "" : `: ${count(s.queries_to_arm)} more queries before a test can alarm`}`;
    case "no_observations":
      return "no observations";
    case "watching":
      return "watching";
    default:
      return ((x: never) => String(x))(s.state);
  }
}

/** The expected rate a window's observed one compares with: for its own queries' sizes when the test is stratified. */
function expectedWords(w: MonitorWindow): string {
  const d = w.drop_rate;
  const expected = d.expected_window ?? d.expected;
  const band = d.band_window ?? d.band;
  return `expected ${percent(expected)}, band ${percent(band.lo)} to ${percent(band.hi)}`;
}

function openLines(w: MonitorWindow, unscored: boolean): string[] {
  return [
    `  ${w.role.padEnd(10)} ${w.calibration_id} (${w.index_version}) since ${w.started_at}: ${count(w.queries)} queries, drop rate ${percent(w.drop_rate.observed)} (${expectedWords(w)}), ${count(w.alarms)} alarm(s)`,
    ...(unscored ? [`  ${"".padEnd(10)} ${unscoredWords(w)}`] : []),
  ];
}

function finishedLine(w: MonitorWindow, unscored: boolean): string {
  return `  ${w.started_at}  ${w.role.padEnd(10)} ${w.calibration_id} (${w.index_version})  ${count(w.queries)} queries  drop rate ${percent(w.drop_rate.observed)}  ${count(w.alarms)} alarm(s)${unscored ? `  ${unscoredWords(w)}` : ""}`;
}

/** The alert's lines: its id, status and occurrences, then its sentence. */
function alertLines(a: Alert): string[] {
  return [
    `Unscored candidates alert ${a.id}, ${a.status} since ${a.first_seen_at} (x${a.occurrences}, last ${a.last_seen_at}):`,
    `    ${prose(a.summary)}`,
  ];
}

/** The human report of a gate's monitor. */
export function describeMonitor(m: MonitorStatus, alert: Alert | null): string {
  const all = [...m.windows, ...m.history];
  const unscored = all.some((w) => (w.unscored_candidates ?? 0) > 0);
  return [
    `Gate ${m.gate_id}: drift state ${stateWords(m.state)}`,
    ...(m.windows.length === 0
      ? ["No open window: no observations today."]
      : ["Open windows (24 h each):", ...m.windows.flatMap((w) => openLines(w, unscored))]),
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
  c.out(describeMonitor(status, alert));
  return EXIT.ok;
}
