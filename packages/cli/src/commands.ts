/**
 * The commands that read or change what is served: threshold, history, activate, alerts, gates. Each prints the
 * server's answer as JSON with --json, else a summary whose numbers go through ./format.
 */
import pMap from "p-map";
import type { z } from "zod";
import {
  type ActivationResult,
  type Alert,
  type AlertList,
  type CalibrationHistory,
  type GateList,
  MAX_PAGE_SIZE,
  type StoredPolicy,
  type ThresholdResponse,
} from "../../../src/contract";
import { ActivationAnswer, AlertsAnswer, checkedAnswer, GatesAnswer, HistoryAnswer, ThresholdAnswer } from "./answers";
import { ALERT_KINDS, ALERT_STATUSES, countFlag, gateFlags, gateTitle, oneId, oneOf, usage } from "./args";
import type { Ctx } from "./context";
import { EXIT } from "./decision";
import { count, num as number, percent, prose } from "./format";
import { keepWords } from "./guard-lines";
import { CliError } from "./http";
import { gateStateLines, rolloutLines, shadowLines } from "./serving-state";
import { byCloseness, shellWord, suggest } from "./suggest";
import { warningLines } from "./warnings";

/** A stored policy in words: "drop rate 20.0 %", "recall 90.0 % (any_relevant)", "carry 0.4". */
function policy(p: StoredPolicy): string {
  switch (p.kind) {
    case "drop_rate":
      return `drop rate ${percent(p.target)}`;
    case "recall":
      return `recall ${percent(p.target)} (${p.coverage})`;
    case "carry":
      return `carry ${p.threshold === null ? "the reference's own threshold" : number(p.threshold)}`;
    default:
      return ((x: never) => String(x))(p);
  }
}

/** The served guards and abstention cutoff, one line each, only when the calibration sets them. */
function guardLines(t: ThresholdResponse): string[] {
  const keep = keepWords(t.guards);
  return [
    ...(keep !== null ? [`  guards        ${keep}`] : []),
    ...(t.abstain_below !== null ? [`  abstention    a query abstains when its top score is below ${number(t.abstain_below)}`] : []),
  ];
}

export async function threshold(c: Ctx): Promise<number> {
  const gate = gateFlags(c.v, true);
  const query: Record<string, string | undefined> = { ...gate, index_version: c.v["index-version"] };
  const res = await c.api().request<unknown>("getThreshold", { query });
  const t = checkedAnswer(ThresholdAnswer, res.body, res.status, "a scoregate threshold") as ThresholdResponse;
  if (c.json) {
    c.out(JSON.stringify({ ...t, etag: res.headers.get("etag"), source: res.headers.get("x-scoregate-source") }));
    return EXIT.ok;
  }
  c.out(
    [
      `${number(t.threshold)}${t.threshold === null ? " (no gate: everything is kept)" : ""}`,
      ...(t.threshold !== null && number(t.threshold) !== String(t.threshold) ? [`  exact         ${t.threshold}`] : []),
      `  gate          ${t.index} / ${t.embedding} / ${t.reranker}, index version ${t.index_version}`,
      `  calibration   ${t.calibration_id} (fitted ${t.fitted_at}, activated ${t.activated_at})`,
      `  drop rate     expected ${percent(t.expected_drop_rate)}; policy ${policy(t.policy)}; scale ${t.score_scale}`,
      ...guardLines(t),
      ...(t.rollout ? rolloutLines(t.rollout) : []),
      ...shadowLines(t.shadows),
    ].join("\n"),
  );
  return EXIT.ok;
}

export async function history(c: Ctx): Promise<number> {
  const gate = gateFlags(c.v, true);
  const limit = countFlag(c.v.limit, "--limit", 1, MAX_PAGE_SIZE, `a whole number from 1 to ${MAX_PAGE_SIZE}`);
  const res = await c.api().request<unknown>("listCalibrations", { query: { ...gate, limit, cursor: c.v.cursor } });
  const h = checkedAnswer(HistoryAnswer, res.body, res.status, "a scoregate calibration history") as z.infer<typeof CalibrationHistory>;
  if (c.json) {
    c.out(JSON.stringify(h));
    return EXIT.ok;
  }
  const n = h.calibrations.length;
  // a page of a longer history says so: `--limit 1` of a gate with 3 is not "1 calibration"
  const lines = [
    `Gate ${gateTitle(gate, h.gate_id)}: ${n} ${n === 1 ? "calibration" : "calibrations"}${h.next_cursor ? " on this page" : ""}, newest first`,
  ];
  for (const cal of h.calibrations) {
    const flags = [cal.current ? "current" : null, cal.active ? "active" : null].filter(Boolean).join(", ");
    lines.push(
      `  ${cal.id}  ${cal.index_version.padEnd(10)} threshold ${number(cal.threshold).padEnd(10)} expected drop ${percent(cal.expected_drop_rate).padEnd(8)} n ${count(cal.n).padStart(9)}  ${cal.created_at}${flags ? `  [${flags}]` : ""}${cal.shift?.alert ? `  shift alert${cal.shift.alert_id ? ` ${cal.shift.alert_id}` : ""}` : ""}`,
    );
  }
  if (h.calibrations.some((cal) => cal.current || cal.active))
    lines.push("  [current]: what the gate serves; [active]: what a request pinned to that index_version reads");
  if (h.activations.length > 0) {
    lines.push("Activations, newest first:");
    for (const a of h.activations)
      lines.push(
        `  ${a.activated_at}  ${a.calibration_id} (${a.index_version}) by ${a.actor}${a.previous_calibration_id ? `, replacing ${a.previous_calibration_id}` : ""}${a.reason ? `: ${a.reason}` : ""}`,
      );
    // the server's history lists the changes of the gate's current calibration only (a completed promotion among them)
    lines.push(
      `  promotion steps (started, advanced, paused, resumed, rolled back, superseded) are not listed here: scoregate promotion ID prints them (ID: prm_... or the calibration promoted); GET /v1/gates/${h.gate_id}/promotions lists the gate's promotions`,
    );
  }
  if (h.next_cursor) lines.push(`More: --cursor ${h.next_cursor}`);
  c.out(lines.join("\n"));
  return EXIT.ok;
}

export async function activate(c: Ctx): Promise<number> {
  const id = oneId(c.positionals, "activate takes one calibration id: scoregate activate cal_... [--reason TEXT]");
  const body = JSON.stringify({ ...(c.v.reason !== undefined ? { reason: c.v.reason } : {}), ...(c.v["dry-run"] === true ? { dry_run: true } : {}) });
  const res = await c.api().request<unknown>("activateCalibration", {
    params: { id },
    body,
    headers: { "Content-Type": "application/json" },
  });
  const r = checkedAnswer(ActivationAnswer, res.body, res.status, "a scoregate activation") as z.infer<typeof ActivationResult>;
  if (c.json) {
    c.out(JSON.stringify(r));
    return EXIT.ok;
  }
  const gate = `${r.calibration.id} (${r.calibration.index} / ${r.calibration.embedding} / ${r.calibration.reranker}, index version ${r.calibration.index_version})`;
  const a = r.activation;
  const lines =
    r.already_current === true
      ? [
          `${gate} is already the gate's current calibration (threshold ${number(r.calibration.threshold)})${r.dry_run ? "" : "; nothing was recorded or changed"}`,
        ]
      : a === null
        ? [
            `Dry run: activating ${gate} would serve threshold ${number(r.calibration.threshold)} (expected drop ${percent(r.calibration.expected_drop_rate)}); nothing was changed`,
            ...(r.shift ? [`  compared with ${r.shift.previous_calibration_id}, the gate's current calibration`] : []),
          ]
        : [
            `Activated ${gate}: threshold ${number(r.calibration.threshold)} is served now`,
            `  replacing ${a.previous_calibration_id ?? "nothing"}; recorded as ${a.id} by ${a.actor}${a.reason ? `: ${a.reason}` : ""}`,
          ];
  lines.splice(2, 0, ...warningLines(r.warnings));
  if (r.shift) lines.push(`  shift: ${prose(r.shift.reason)}`);
  if (r.shift?.alert_id) lines.push(`  rebuild_shift alert ${r.shift.alert_id} raised or counted again (scoregate alerts --status open lists it)`);
  c.out(lines.join("\n"));
  return EXIT.ok;
}

export async function alerts(c: Ctx): Promise<number> {
  // one gate's alerts take both models (the server refuses one alone); --index alone filters by index
  const gate = gateFlags(c.v, c.v.embedding !== undefined || c.v.reranker !== undefined);
  const limit = countFlag(c.v.limit, "--limit", 1, MAX_PAGE_SIZE, `a whole number from 1 to ${MAX_PAGE_SIZE}`);
  const kind = oneOf(c.v.kind, "kind", ALERT_KINDS);
  const status = oneOf(c.v.status, "status", ALERT_STATUSES);
  const res = await c.api().request<unknown>("listAlerts", { query: { ...gate, kind, status, limit, cursor: c.v.cursor } });
  const page = checkedAnswer(AlertsAnswer, res.body, res.status, "a scoregate alert list") as z.infer<typeof AlertList>;
  // the server refuses a gate it does not know (404, with the gates it may mean); an index alone it filters by, and a
  // mistyped one matches nothing: an empty list is then no all-clear, so it is checked against the gates' indexes
  if (page.alerts.length === 0 && gate.index !== undefined && gate.embedding === undefined && gate.reranker === undefined)
    await knownIndex(c, gate.index);
  if (c.json) {
    c.out(JSON.stringify(page));
    return EXIT.ok;
  }
  const list = page.alerts;
  if (list.length === 0) {
    c.out("No alerts.");
    return EXIT.ok;
  }
  const lines = list.map(
    (a) =>
      `${a.id}  ${a.status.padEnd(12)} ${a.kind.padEnd(KIND_WIDTH)} ${a.gate.index} / ${a.gate.embedding} / ${a.gate.reranker}  (x${a.occurrences}, last ${a.last_seen_at})\n    ${prose(a.summary)}${handledWords(a)}`,
  );
  if (page.next_cursor) lines.push(`More: --cursor ${page.next_cursor}`);
  c.out(lines.join("\n"));
  return EXIT.ok;
}

/** The alert listing's kind column: as wide as the longest kind (promotion_rolled_back), so the gate stands apart. */
const KIND_WIDTH = Math.max(...ALERT_KINDS.map((k) => k.length));

/** The indexes a refusal of an unknown one lists at most (the closest first). */
const LISTED_INDEXES = 10;

/** Refuses an --index that no gate has (exit 2), naming the closest index names the gates listing holds. */
async function knownIndex(c: Ctx, index: string): Promise<void> {
  const indexes = [...new Set((await allGates(c)).map((g) => g.index))];
  if (indexes.includes(index)) return;
  const closest = suggest(index, indexes);
  const listed = byCloseness(index, indexes).slice(0, LISTED_INDEXES).map(shellWord);
  throw usage(
    `no gate has --index ${shellWord(index)}${closest === undefined ? "" : `: did you mean --index ${shellWord(closest)}?`}`,
    indexes.length === 0
      ? "the server has no gates yet"
      : `the indexes with gates${indexes.length > LISTED_INDEXES ? `, the ${LISTED_INDEXES} closest of ${indexes.length}` : ""}: ${listed.join(", ")} (scoregate gates lists the gates)`,
  );
}

/** Every gate: the server answers a page at a time (MAX_PAGE_SIZE each); its cursors are followed to the last page. */
async function allGates(c: Ctx): Promise<z.infer<typeof GateList>["gates"]> {
  const gates: z.infer<typeof GateList>["gates"] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    const res = await c.api().request<unknown>("listGates", { query: { limit: MAX_PAGE_SIZE, cursor } });
    const page = checkedAnswer(GatesAnswer, res.body, res.status, "a scoregate gate list") as z.infer<typeof GateList>;
    gates.push(...page.gates);
    // A server before pages sends no next_cursor: its one answer is every gate. A repeated cursor would loop forever.
    cursor = page.next_cursor ?? undefined;
    if (cursor !== undefined && seen.has(cursor))
      throw new CliError(`${c.api().baseUrl} sent the listing cursor ${cursor} twice`, EXIT.failure, "invalid_response");
    if (cursor !== undefined) seen.add(cursor);
  } while (cursor !== undefined);
  return gates;
}

/**
 * Threshold reads `scoregate gates` keeps in flight at once: one per served gate, in turn, took a second per 20 gates
 * against a server 50 ms away; eight at a time keep a long listing quick without a burst a server would notice.
 */
export const GATES_READS_IN_FLIGHT = 8;

/**
 * What a gate serves beyond its versions' thresholds: its current calibration's guards and abstention, an open
 * promotion's split and its shadows. The gate listing carries none of them: GET /v1/threshold of the gate does.
 */
async function servedOf(c: Ctx, g: z.infer<typeof GateList>["gates"][number]): Promise<ThresholdResponse> {
  const query = { index: g.index, embedding: g.embedding, reranker: g.reranker };
  const res = await c.api().request<unknown>("getThreshold", { query });
  return checkedAnswer(ThresholdAnswer, res.body, res.status, "a scoregate threshold") as ThresholdResponse;
}

/** Who is on an alert: "acknowledged by alice at T: note", or who resolved it and why; nothing for an open one. */
function handledWords(
  a: Pick<Alert, "status" | "acknowledged_by" | "acknowledged_at" | "acknowledged_note" | "resolved_by" | "resolved_at" | "resolved_note">,
): string {
  const line = (verb: string, by: string | null, at: string | null, note: string | null) =>
    `\n    ${verb}${by === null ? "" : ` by ${by}`}${at === null ? "" : ` at ${at}`}${note ? `: ${prose(note)}` : ""}`;
  if (a.status === "acknowledged") return line("acknowledged", a.acknowledged_by, a.acknowledged_at, a.acknowledged_note);
  if (a.status === "resolved") return line("resolved", a.resolved_by, a.resolved_at, a.resolved_note);
  return "";
}

export async function gates(c: Ctx): Promise<number> {
  const list = await allGates(c);
  if (c.json) {
    c.out(JSON.stringify({ gates: list, next_cursor: null }));
    return EXIT.ok;
  }
  if (list.length === 0) {
    c.out("No gates yet: scoregate calibrate creates one.");
    return EXIT.ok;
  }
  // a gate that serves nothing yet has no rule, split or shadow (the server refuses both to it); the others' threshold
  // reads go GATES_READS_IN_FLIGHT at a time, printed in the listing's order
  const served = await pMap(list, (g) => (g.current_calibration_id === null ? null : servedOf(c, g)), { concurrency: GATES_READS_IN_FLIGHT });
  const lines: string[] = [];
  for (const [i, g] of list.entries()) {
    lines.push(`${g.index} / ${g.embedding} / ${g.reranker}  (gate ${g.gate_id}; current ${g.current_calibration_id ?? "none"})`);
    for (const a of g.active)
      lines.push(
        `  ${a.index_version.padEnd(12)} threshold ${number(a.threshold).padEnd(10)} expected drop ${percent(a.expected_drop_rate)}  ${a.calibration_id}  since ${a.activated_at}`,
      );
    const t = served[i];
    if (t) lines.push(...gateStateLines(t, g.active.length > 1));
  }
  c.out(lines.join("\n"));
  return EXIT.ok;
}
