/**
 * `scoregate calibrate FILE|-`: read the score file, upload it, print the calibration, the rebuild shift and the
 * decision, and exit with the decision's code.
 */
import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import type { z } from "zod";
import type { ActivationOutcome, CalibrationCreated, PromotionList } from "../../../src/contract";
import { oneOf, usage } from "./args";
import { BodyError, bodyStream, encodeUpload } from "./body";
import type { Ctx } from "./context";
import { EXIT, exitCodeFor, type RebuildDecision, rebuildDecision, type ShiftWithDecision } from "./decision";
import { DELIMITER_NAMES, delimiterFromFlag } from "./delimiter";
import { count, fixed, num as number, percent, pointInterval, points, pointWidth, prose, pValue, size } from "./format";
import { abstentionLine, guardsLines, keepWords, labelsLine, perQueryLines } from "./guard-lines";
import { type Api, CliError } from "./http";
import { noProgress, type Progress, terminalProgress } from "./progress";
import { FORMATS, InputError, readScores, type ScoreFile } from "./read-scores";
import { recallLines } from "./recall-lines";
import { servingLine } from "./serving-line";
import { gateFlagWords } from "./suggest";
import { metaFrom, needsQueries, PER_QUERY_WHY, perQueryFlags } from "./upload-meta";
import { warningLines } from "./warnings";

/** Attempts of one upload: the first and its retries, all with the run's Idempotency-Key. */
export const UPLOAD_ATTEMPTS = 3;

/** The wait before retry n is n times this (1 s, then 2 s). */
export const RETRY_DELAY_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Failures an upload is sent again for: no answer (the server may have stored it: the key makes the retry replay it),
 * 409, 429 and 5xx. An upload's 409 is either idempotency_in_progress (the key's first request is still running, or
 * committed meanwhile: the retry replays it; an older server sent it as conflict) or conflict (a concurrent activation
 * won and nothing was stored): both are worth sending again, so the status decides, not the code. Not the other 4xx:
 * the request itself is wrong.
 */
const retryable = (e: CliError): boolean =>
  e.server === undefined
    ? e.code === "timeout" || e.code === "unreachable"
    : e.server.status === 409 || e.server.status === 429 || e.server.status >= 500;

/**
 * The last failure, with how to get the upload's answer later without a second calibration: a rerun with the same key
 * when an attempt may have reached the server; when none did (every attempt's connection refused, the name not
 * resolved), nothing was stored and a plain rerun is all there is to do.
 */
const withKeyHint = (e: CliError, key: string, attempts: number, reached: boolean, dryRun: boolean): CliError =>
  new CliError(
    e.message,
    e.exitCode,
    e.code,
    [
      ...e.hints,
      // a dry run stores nothing, whether it reached the server or not: there is no answer kept under the key
      dryRun
        ? `tried ${attempts} times${reached ? "" : ", and no attempt reached the server"}: a dry run stores nothing; run the command again once the server answers`
        : reached
          ? `sent ${attempts} times with Idempotency-Key ${key}: run again with --idempotency-key ${key} to get its answer if the server stored it, never a second calibration`
          : `tried ${attempts} times, and no attempt reached the server: nothing was stored; run the command again once the server answers`,
    ],
    e.server,
    e.notSent,
  );

export async function calibrate(c: Ctx): Promise<number> {
  const { v, io } = c;
  const file = c.positionals[0];
  if (file === undefined)
    throw usage(
      "calibrate needs a score file (or - for stdin): scoregate calibrate scores.csv --embedding E --reranker R --index-version V --target 0.2",
    );
  if (c.positionals.length > 1) throw usage(`calibrate takes one file, got ${c.positionals.length}: ${c.positionals.join(" ")}`);
  const meta = metaFrom(v);
  const format = oneOf(v.format, "format", FORMATS);
  const delimiter = v.delimiter === undefined ? undefined : delimiterFromFlag(v.delimiter);
  if (delimiter === null) throw usage(`--delimiter ${JSON.stringify(v.delimiter)} is not one of comma, semicolon, tab, pipe (or , ; |)`);
  if (v["no-query-column"] === true && v["query-column"] !== undefined)
    throw usage("--query-column and --no-query-column cannot be combined: give one");

  if (v["no-query-column"] === true && needsQueries(v, meta.policy))
    throw usage(`${perQueryFlags(v)} and --no-query-column cannot be combined: ${PER_QUERY_WHY}, and --no-query-column uploads none`);

  const showProgress = v["no-progress"] !== true && io.stderr.isTTY === true && !c.json;
  const progress: Progress = showProgress ? terminalProgress(io.stderr as NodeJS.WriteStream) : noProgress;
  let size: number | null = null;
  if (file !== "-") {
    try {
      size = statSync(file).size;
    } catch {
      // readScores reports the missing file
    }
  }
  let data: ScoreFile;
  const stdin = file === "-" ? (io.stdin ?? process.stdin) : null;
  // `-` typed at a terminal, where a pipe was meant, would otherwise wait in silence
  if ((stdin as { isTTY?: boolean } | null)?.isTTY === true)
    c.warn("reading scores from the terminal: type or paste them, then Ctrl-D (a pipeline pipes them: ... | scoregate calibrate - ...)");
  try {
    data = await readScores(stdin ?? file, {
      format,
      delimiter,
      scoreColumn: v["score-column"],
      queryColumn: v["no-query-column"] === true ? "" : v["query-column"],
      labelColumn: v["label-column"],
      answerableColumn: v["answerable-column"],
      onProgress: (b) => progress.update("reading", b, size),
    });
  } catch (e) {
    progress.done();
    if (e instanceof InputError) throw new CliError(e.message, EXIT.usage, "invalid_file", e.problems);
    throw e;
  }
  if (data.offsets === null && needsQueries(v, meta.policy)) {
    progress.done();
    const flags = perQueryFlags(v);
    throw usage(
      `${flags} need${flags.includes(" and ") ? "" : "s"} queries: ${PER_QUERY_WHY}, and ${file === "-" ? "stdin" : file} was read as one flat list of scores`,
      `name the column that groups rows into queries with --query-column NAME (a column named query_id, qid or query is found by itself)${v["label-column"] === undefined ? ", or write one JSONL array per query" : ""}`,
    );
  }
  let body: ReturnType<typeof encodeUpload>;
  try {
    body = encodeUpload(
      meta,
      data.scores,
      data.offsets,
      v.float32 === true,
      data.labels === null && data.answerable === null ? null : { relevance: data.labels, answerable: data.answerable },
    );
  } catch (e) {
    progress.done();
    if (e instanceof BodyError) throw new CliError(e.message, EXIT.usage, "invalid_upload");
    throw e;
  }
  // Every run has a key (its own unless --idempotency-key gives one), so its retries below never calibrate twice.
  const key = v["idempotency-key"] ?? randomUUID();
  const headers: Record<string, string> = { "Content-Type": body.contentType, "Content-Length": String(body.bytes), "Idempotency-Key": key };
  let res: Awaited<ReturnType<Api["request"]>>;
  let attempts = 0;
  // whether any attempt may have reached the server (and been stored under the key)
  let reached = false;
  try {
    for (;;) {
      attempts++;
      try {
        res = await c.api().request<z.infer<typeof CalibrationCreated>>("createCalibration", {
          body: bodyStream(body.chunks, (sent) => progress.update("uploading", sent, body.bytes)),
          headers,
          ...(body.query ? { query: body.query } : {}),
          okStatuses: [200, 201],
        });
        break;
      } catch (e) {
        if (!(e instanceof CliError) || !retryable(e)) throw e;
        reached ||= !e.notSent;
        if (attempts >= UPLOAD_ATTEMPTS) throw withKeyHint(e, key, attempts, reached, v["dry-run"] === true);
        await (io.sleep ?? sleep)(RETRY_DELAY_MS * attempts);
      }
    }
  } finally {
    progress.done();
  }
  const created = res.body as z.infer<typeof CalibrationCreated>;
  // Whatever answered 2xx must be a calibration: a pipeline reads exit 0 as "served", so a body of another shape (a
  // proxy, a wrong --url) is a failure, not a success with nothing in it. The fields the exit code rests on are checked.
  const answer = created as unknown as { calibration?: { id?: unknown }; warnings?: unknown; shift?: unknown } | null;
  if (typeof answer?.calibration?.id !== "string" || !Array.isArray(answer.warnings) || answer.shift === undefined)
    throw new CliError(`the server answered ${res.status} with a body that is not a scoregate calibration`, EXIT.failure, "invalid_response", [
      "is --url pointing at a scoregate server?",
    ]);
  const shift = created.shift as ShiftWithDecision | null;
  const decided = rebuildDecision(shift);
  // Servers before activate "auto" send no activation_outcome (and served every upload but activate: false).
  const outcome = (created as Partial<typeof created>).activation_outcome;
  const code = exitCodeFor(outcome, decided.decision, v.strict === true);
  const upload = {
    file: file === "-" ? "stdin" : file,
    format: data.format,
    delimiter: data.delimiter,
    decimal_comma: data.decimalComma,
    scores: data.scores.length,
    queries: data.offsets ? data.offsets.length - 1 : null,
    score_column: data.scoreColumn,
    query_column: data.queryColumn,
    label_column: data.labelColumn,
    answerable_column: data.answerableColumn,
    content_type: body.contentType,
    bytes: body.bytes,
    note: body.note,
    replayed: res.headers.get("idempotent-replayed") === "true",
    idempotency_key: key,
    attempts,
  };
  const inconclusiveWarning = outcome === undefined && decided.decision === "inconclusive" && code === 0;
  if (c.json) {
    c.out(
      JSON.stringify({
        ...created,
        decision: decided.decision,
        decision_source: decided.source,
        dry_run: v["dry-run"] === true,
        exit_code: code,
        upload,
      }),
    );
    if (inconclusiveWarning) c.warn("warning: the rebuild decision is inconclusive (exit 0 without --strict)");
    return code;
  }
  const candidate = outcome?.reason === "promotion_open" ? await openCandidate(c, created.calibration.gate_id) : null;
  c.out(report(created, outcome, shift, decided, code, data, upload, candidate));
  if (inconclusiveWarning) c.warn("warning: the rebuild decision is inconclusive; exit 0 because --strict is not set");
  return code;
}

/**
 * What the upload did to what is served, for the first line of the summary. `replay`: the answer is the one stored
 * when this --idempotency-key was first used, by an earlier run: it says what was served then, not now (the gate may
 * have moved on since), so the words say when.
 */
function servedLabel(cal: z.infer<typeof CalibrationCreated>["calibration"], outcome: ActivationOutcome | undefined, replay: boolean): string {
  if (replay) {
    if (outcome === undefined || outcome.activated)
      return cal.current ? "served when first uploaded" : "active for its index version when first uploaded";
    return "stored, not served when first uploaded";
  }
  if (outcome === undefined) return cal.current ? "active, now served" : "active";
  if (outcome.activated) return cal.current ? "served now" : "active for its index version";
  // activating it would end the gate's open promotion (superseded): the Serving line names the promotion
  if (outcome.reason === "promotion_open") return "stored, not served while the gate's promotion is open: activating it would end the promotion";
  return `stored, not served: promote it with scoregate activate ${cal.id}`;
}

/**
 * The candidate calibration of the gate's open promotion, for an upload stored unserved because of it (promotion_open),
 * so the summary names `scoregate promotion CANDIDATE`; null when the read fails or finds none (a gate has at most one
 * open promotion, its newest: the first page holds it). Reading it never fails the upload.
 */
async function openCandidate(c: Ctx, gateId: string): Promise<string | null> {
  try {
    const page = await c.api().request<PromotionList>("listGatePromotions", { params: { gate_id: gateId }, query: { limit: 5 } });
    const promotions: unknown = (page.body as Partial<PromotionList> | null)?.promotions;
    if (!Array.isArray(promotions)) return null;
    const open = (promotions as PromotionList["promotions"]).find((p) => p?.state === "running" || p?.state === "paused");
    return typeof open?.candidate_calibration_id === "string" ? open.candidate_calibration_id : null;
  } catch {
    return null;
  }
}

/** How the file was read, for the summary: "csv, semicolon-separated, decimal commas, score column "score"". */
function readAs(data: ScoreFile): string {
  const parts: string[] = [data.format];
  if (data.delimiter !== null && data.delimiter !== (data.format === "tsv" ? "\t" : ",")) parts.push(`${DELIMITER_NAMES[data.delimiter]}-separated`);
  if (data.decimalComma) parts.push("decimal commas");
  if (data.scoreColumn) parts.push(`score column ${JSON.stringify(data.scoreColumn)}`);
  if (data.queryColumn) parts.push(`query column ${JSON.stringify(data.queryColumn)}`);
  if (data.labelColumn) parts.push(`label column ${JSON.stringify(data.labelColumn)}`);
  if (data.answerableColumn) parts.push(`answerable column ${JSON.stringify(data.answerableColumn)}`);
  return parts.join(", ");
}

/** The human summary of an upload: every number through ./format. */
function report(
  created: z.infer<typeof CalibrationCreated>,
  outcome: ActivationOutcome | undefined,
  shift: ShiftWithDecision | null,
  { decision, source }: RebuildDecision,
  code: number,
  data: ScoreFile,
  upload: {
    file: string;
    queries: number | null;
    content_type: string;
    bytes: number;
    note: string | null;
    replayed: boolean;
    idempotency_key: string;
    attempts: number;
  },
  openCandidate: string | null,
): string {
  const cal = created.calibration;
  const lines: string[] = [];
  // the key was used by an earlier run (not only by this run's own retries): its answer is that run's, as it was then
  const replay = upload.replayed && upload.attempts === 1 && outcome?.dry_run !== true;
  lines.push(
    outcome?.dry_run
      ? `Dry run for ${cal.index} / ${cal.embedding} / ${cal.reranker}, index version ${cal.index_version}: nothing stored, ${outcome.would_activate ? "would be served" : "would not be served"}`
      : `Calibrated ${cal.index} / ${cal.embedding} / ${cal.reranker}, index version ${cal.index_version}: ${cal.id} (${servedLabel(cal, outcome, replay)})`,
  );
  lines.push(...warningLines([...created.warnings, ...cal.warnings.filter((w) => !created.warnings.some((x) => x.code === w.code))]));
  if (upload.replayed) {
    const gate = gateFlagWords(cal);
    lines.push(
      replay
        ? `  (replayed: this --idempotency-key was used before; this is the first upload's answer as it was then, with its exit code: scoregate threshold ${gate} shows what is served now)`
        : `  (sent ${upload.attempts} times with Idempotency-Key ${upload.idempotency_key}: stored once; this is the first attempt's answer)`,
    );
  }
  lines.push(
    `  read        ${count(data.scores.length)} score${data.scores.length === 1 ? "" : "s"}${upload.queries !== null ? ` in ${count(upload.queries)} quer${upload.queries === 1 ? "y" : "ies"}` : ""} from ${upload.file} (${readAs(data)})`,
  );
  lines.push(
    `  sent        ${size(upload.bytes)} as ${upload.content_type === "application/x-ndjson" ? "NDJSON (full precision)" : "float32"}${upload.note ? `: ${upload.note}` : ""}`,
  );
  const ti = cal.threshold_interval_95;
  lines.push(
    `  threshold   ${number(cal.threshold)}${
      cal.threshold === null
        ? " (target 0: no gate, everything is kept)"
        : ti[0] === null && ti[1] === null
          ? "  (95 %: too few scores for an interval)"
          : `  (95 %: ${number(ti[0])} to ${number(ti[1])})`
    }`,
  );
  const di = cal.drop_rate_interval_95;
  // A recall calibration's drop-rate target is the conformal rate at the threshold the recall target sets
  // ((below+1)/(n+1) of its scores, or the guarded gate's rate); recall.implied_drop_rate is the in-sample below/n, the
  // tradeoff's figure. The drift monitor centres on expected_drop_rate.
  const recallTarget = (r: NonNullable<typeof cal.recall>) =>
    `${percent(cal.target_drop_rate)} at the recall target's threshold (conformal${cal.guards == null || keepWords(cal.guards) === null ? ": (below+1)/(n+1)" : ", with the guards"}; ${percent(r.implied_drop_rate)} in sample)`;
  lines.push(
    `  drop rate   ${cal.recall ? recallTarget(cal.recall) : `target ${percent(cal.target_drop_rate)}`}, expected ${percent(cal.expected_drop_rate)} (95 %: ${percent(di[0])} to ${percent(di[1])})`,
  );
  if (cal.carry)
    lines.push(
      `  carried     ${number(cal.carry.reference_threshold)} dropped ${percent(cal.carry.reference_drop_rate)} of the reference (${cal.carry.reference.kind === "calibration" ? cal.carry.reference.calibration_id : `${count(cal.carry.reference.n)} inline scores`})`,
    );
  // servers before guards send neither field: no guard, no abstention
  if (cal.labels) lines.push(labelsLine(cal.labels));
  // servers before recall gates send no recall field
  if (cal.recall) lines.push(...recallLines(cal.recall, cal.guards?.max_keep ?? null));
  if (cal.guards) lines.push(...guardsLines(cal.guards));
  if (cal.abstention) lines.push(abstentionLine(cal.abstention));
  if (cal.per_query) lines.push(...perQueryLines(cal.per_query, cal.guards?.min_keep ?? 0));
  if (shift) {
    lines.push(
      `Shift against ${shift.previous_index_version} (${shift.previous_calibration_id}, ${shift.compared_with === "gate_current" ? "the gate's current calibration" : "the carry reference"}):`,
    );
    // change_points is in points, change_interval_95 and tolerance in rate units (src/contract/calibrations.ts)
    const ci = shift.change_interval_95 ? ` (95 %: ${pointInterval(shift.change_interval_95)} points)` : "";
    const { guarded, verdict } = shiftVerdict(shift.reason);
    lines.push(
      `  the previous threshold ${number(shift.previous_threshold)}${guarded} drops ${percent(shift.drop_rate_at_previous_threshold)} of the new scores against ${percent(shift.previous_drop_rate_at_previous_threshold)} before: ${points(shift.change_points)} points${ci}, tolerance ${pointWidth(shift.tolerance)} points`,
    );
    lines.push(
      `  z = ${fixed(shift.z, 2)}, ${pValue(shift.p_value)}, KS ${fixed(shift.ks, 3)}, PSI ${fixed(shift.psi.value, 3)}${shift.psi.exceeds ? " (over its threshold)" : ""}`,
    );
    lines.push(`  ${prose(verdict)}`);
  } else lines.push("Shift: none (the gate had no calibration to compare with)");
  if (outcome)
    lines.push(
      replay
        ? servingLine(outcome, cal, shift, openCandidate).replace(/^Serving: /u, "Serving when first uploaded: ")
        : servingLine(outcome, cal, shift, openCandidate),
    );
  // A new gate's first calibration compared with the calibration it carries from: its old threshold is expected to
  // drop another share of the new model's scores (the server raises no alert), and the upload is served: the line
  // must not read as a failure that exited 0.
  const intendedCarry = code === EXIT.ok && shift?.compared_with === "carry_reference" && (decision === "shifted" || decision === "inconclusive");
  const carried = `a carry across a model change: first calibration of this gate, ${outcome?.dry_run ? "would be served" : "served"}`;
  const label =
    decision === null
      ? "no previous calibration"
      : intendedCarry
        ? decision === "shifted"
          ? `shifted as intended (${carried})`
          : `inconclusive, as a carry's drop rate may move (${carried})`
        : decision === "shifted"
          ? "SHIFTED: the previous threshold's drop rate moved beyond the tolerance"
          : decision === "inconclusive"
            ? "INCONCLUSIVE: the data cannot tell whether the drop rate moved beyond the tolerance"
            : "equivalent: the drop rate stayed within the tolerance";
  // The exit code follows what is served; when that is not the rebuild decision, the line says what decided it.
  const notServedBecause =
    outcome?.reason === "drop_rate_changed"
      ? "; not served: the gate would drop a different share than the served calibration (drop_rate_changed)"
      : outcome?.reason === "target_missed"
        ? "; not served: the expected drop rate misses the target (target_missed)"
        : outcome?.reason === "promotion_open"
          ? "; not served: the gate has an open guarded promotion, which serving would end (promotion_open)"
          : "";
  lines.push(
    `Decision: ${label}${source === "legacy" ? " (derived from alert and change_points: the server sends no decision)" : ""}${notServedBecause} -> exit ${code}`,
  );
  return lines.join("\n");
}

/**
 * The server's shift reason opens with the sentence the line above it already prints from the numbers ("the previous
 * threshold 0.4 drops 59.0 % of the new scores against 22.0 % before (+37.0 points, 95 % interval ...): shifted, ...").
 * Printing it whole said the same thing twice, rounded two ways; this keeps what the numbers do not say: the verdict
 * with its test and notes, and whether the previous gate's guards were applied. A reason of another shape (an older or
 * newer server, "kept every candidate") is printed whole.
 */
export function shiftVerdict(reason: string): { guarded: string; verdict: string } {
  const m = /^the previous threshold \S+( with its guards \([^)]*\)| alone \((?:[^()]|\([^)]*\))*\))? drops .*? points\): (.+)$/su.exec(reason);
  return m ? { guarded: m[1] ?? "", verdict: m[2] as string } : { guarded: "", verdict: reason };
}
