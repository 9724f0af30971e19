/**
 * `scoregate`: the command line of scoregate. `run(argv, io)` is the whole CLI (the bin only wires it to the
 * process), so tests run it in-process against a local worker or a stub server.
 */
import { statSync } from "node:fs";
import type { Readable } from "node:stream";
import { parseArgs } from "node:util";
import {
  CalibrationMeta,
  type ActivationResult,
  type AlertList,
  type CalibrationCreated,
  type CalibrationHistory,
  type GateList,
  type ThresholdResponse,
} from "../../../src/contract";
import type { z } from "zod";
import { BodyError, bodyStream, encodeUpload, type UploadMeta } from "./body";
import { EXIT, exitCodeFor, rebuildDecision, type ShiftWithDecision } from "./decision";
import { Api, CliError } from "./http";
import { noProgress, terminalProgress, type Progress } from "./progress";
import { FORMATS, type Format, InputError, readScores } from "./read-scores";
import { version } from "../package.json";

/** This package's version, from package.json at build time (the bundler inlines the one field). */
export const VERSION: string = version;

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  stdin?: Readable;
  fetch?: typeof fetch;
}

const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  index: { type: "string" },
  embedding: { type: "string" },
  reranker: { type: "string" },
  "index-version": { type: "string" },
  target: { type: "string" },
  carry: { type: "string" },
  reference: { type: "string" },
  format: { type: "string" },
  "score-column": { type: "string" },
  "query-column": { type: "string" },
  "score-scale": { type: "string" },
  "shift-tolerance": { type: "string" },
  "dry-run": { type: "boolean" },
  strict: { type: "boolean" },
  "idempotency-key": { type: "string" },
  float32: { type: "boolean" },
  "no-progress": { type: "boolean" },
  limit: { type: "string" },
  cursor: { type: "string" },
  reason: { type: "string" },
  kind: { type: "string" },
  status: { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>["values"];

export const USAGE = `scoregate: calibrate, serve and watch reranker score gates

Usage:
  scoregate calibrate FILE|- --embedding E --reranker R --index-version V (--target D | --carry [THRESHOLD]) [options]
  scoregate threshold --embedding E --reranker R [--index I] [--index-version V]
  scoregate history   --embedding E --reranker R [--index I] [--limit N] [--cursor C]
  scoregate activate  ID [--reason TEXT]                      (admin token: promote or roll back)
  scoregate alerts    [--kind K] [--status S] [--embedding E --reranker R [--index I]] [--limit N]
  scoregate gates

Calibrate options:
  --index I              the collection (default "default")
  --target D             drop the bottom D of candidates (0 <= D < 1, e.g. 0.2)
  --carry [THRESHOLD]    keep the drop rate THRESHOLD had on the reference (omit it: the reference's own threshold)
  --reference REF        carry reference: "active" (default) or a calibration id
  --format F             csv | tsv | jsonl | text (default: from the file name, else detected from the first line)
  --score-column C       score column name (or 1-based position without a header); default: a column named "score"
  --query-column C       column grouping rows into queries; default: query_id, qid or query if present; "" for none
  --score-scale S        probability | logit | unbounded (default unbounded)
  --shift-tolerance T    rebuild shift tolerance in drop-rate units (default 0.02)
  --dry-run              upload with activate=false: the report without changing what is served
  --strict               exit 4 when the rebuild decision is inconclusive (default: 0 with a warning)
  --idempotency-key K    a retried upload with the same key replays the first answer instead of calibrating twice
  --float32              send float32 (smaller; rounds scores to about 7 significant digits)
  --no-progress          no progress bar (it is shown only when stderr is a terminal)

Global options:
  --url URL              server (default $SCOREGATE_URL, else http://localhost:8787)
  --token TOKEN          bearer token (default $SCOREGATE_TOKEN)
  --json                 machine-readable output on stdout (errors too)
  --timeout SECONDS      per request (default 300 for calibrate, 30 otherwise)

Exit codes:
  0  success (calibrate: decision equivalent, or nothing to compare with; inconclusive without --strict)
  1  network or server failure (unreachable, timeout, 429, 5xx)
  2  usage or bad input (flags, the file, or the server's 4xx, explained)
  3  calibrate: the rebuild shifted the gate (decision "shifted")
  4  calibrate --strict: the rebuild decision is inconclusive
`;

const usage = (message: string, ...details: string[]): CliError =>
  new CliError(message, EXIT.usage, [...details, "scoregate --help shows every command and flag"]);

/** `--carry` takes an optional value: rewrite `--carry 0.4` to `--carry=0.4` and a bare `--carry` to `--carry=`. */
function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--carry") {
      const next = argv[i + 1];
      if (next !== undefined && /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/u.test(next)) {
        out.push(`--carry=${next}`);
        i++;
      } else out.push("--carry=");
    } else out.push(a);
  }
  return out;
}

function num(v: string | undefined, flag: string, check: (x: number) => boolean, range: string): number | undefined {
  if (v === undefined) return undefined;
  const x = v.trim() === "" ? Number.NaN : Number(v);
  if (!Number.isFinite(x) || !check(x)) throw usage(`${flag} ${JSON.stringify(v)} is not valid: it must be ${range}`);
  return x;
}

const pct = (x: number | null | undefined, d = 1): string => (x === null || x === undefined ? "n/a" : `${(100 * x).toFixed(d)} %`);
const int = (x: number): string => x.toLocaleString("en-US");
const fmtNum = (x: number | null | undefined): string => (x === null || x === undefined ? "none" : String(Number(x.toPrecision(6))));

function gateFlags(v: Values, required: boolean): { index?: string; embedding?: string; reranker?: string } {
  if (required && (v.embedding === undefined || v.reranker === undefined)) {
    const missing = [v.embedding === undefined ? "--embedding" : null, v.reranker === undefined ? "--reranker" : null].filter(Boolean).join(" and ");
    throw usage(`missing ${missing}: a gate is (--index, --embedding, --reranker); scoregate gates lists the known ones`);
  }
  const out: { index?: string; embedding?: string; reranker?: string } = {};
  if (v.index !== undefined) out.index = v.index;
  if (v.embedding !== undefined) out.embedding = v.embedding;
  if (v.reranker !== undefined) out.reranker = v.reranker;
  return out;
}

interface Ctx {
  io: Io;
  v: Values;
  positionals: string[];
  api: () => Api;
  json: boolean;
  out: (s: string) => void;
  warn: (s: string) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// calibrate
// ---------------------------------------------------------------------------------------------------------------

function policyFrom(v: Values): UploadMeta["policy"] {
  if (v.target !== undefined && v.carry !== undefined) throw usage("give either --target D or --carry [THRESHOLD], not both");
  if (v.target !== undefined) {
    if (v.reference !== undefined) throw usage("--reference goes with --carry, not with --target");
    return {
      kind: "drop_rate",
      target: num(v.target, "--target", (x) => x >= 0 && x < 1, "a drop rate in [0, 1), e.g. 0.2 to drop the bottom 20 %")!,
    };
  }
  if (v.carry !== undefined) {
    const ref = v.reference ?? "active";
    const reference = ref === "active" ? ("active" as const) : { calibration_id: ref };
    if (v.carry === "") return { kind: "carry", reference };
    return { kind: "carry", threshold: num(v.carry, "--carry", () => true, "a number (the old absolute threshold)")!, reference };
  }
  throw usage("choose a policy: --target D (drop the bottom D, e.g. 0.2) or --carry [THRESHOLD] (keep the drop rate of an old threshold)");
}

async function calibrate(c: Ctx): Promise<number> {
  const { v, io } = c;
  const file = c.positionals[0];
  if (file === undefined)
    throw usage(
      "calibrate needs a score file (or - for stdin): scoregate calibrate scores.csv --embedding E --reranker R --index-version V --target 0.2",
    );
  if (c.positionals.length > 1) throw usage(`calibrate takes one file, got ${c.positionals.length}: ${c.positionals.join(" ")}`);
  gateFlags(v, true);
  if (v["index-version"] === undefined) throw usage("missing --index-version: the index version these scores come from (e.g. the rebuild's id)");
  if (v.format !== undefined && !FORMATS.includes(v.format as Format)) throw usage(`--format ${v.format} is not one of ${FORMATS.join(", ")}`);
  const meta: UploadMeta = {
    embedding: v.embedding!,
    reranker: v.reranker!,
    index_version: v["index-version"],
    policy: policyFrom(v),
  };
  if (v.index !== undefined) meta.index = v.index;
  if (v["dry-run"]) meta.activate = false;
  if (v["score-scale"] !== undefined) meta.score_scale = v["score-scale"] as UploadMeta["score_scale"] & string;
  const tol = num(v["shift-tolerance"], "--shift-tolerance", (x) => x >= 0 && x <= 1, "in [0, 1] (drop-rate units: 0.02 = 2 points)");
  if (tol !== undefined) meta.shift_tolerance = tol;
  // check the flags against the contract before reading a large file
  const checked = CalibrationMeta.safeParse(meta);
  if (!checked.success) {
    throw usage(
      "the flags do not make a valid calibration",
      ...checked.error.issues.map(
        (i) => `${i.path.join(".").replace("index_version", "--index-version").replace("score_scale", "--score-scale")}: ${i.message}`,
      ),
    );
  }

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
  let data: Awaited<ReturnType<typeof readScores>>;
  try {
    data = await readScores(file === "-" ? (io.stdin ?? process.stdin) : file, {
      format: v.format as Format | undefined,
      scoreColumn: v["score-column"],
      queryColumn: v["query-column"],
      onProgress: (b) => progress.update("reading", b, size),
    });
  } catch (e) {
    progress.done();
    if (e instanceof InputError) throw new CliError(e.message, EXIT.usage, e.problems);
    throw e;
  }
  let body: ReturnType<typeof encodeUpload>;
  try {
    body = encodeUpload(meta, data.scores, data.offsets, v.float32 === true);
  } catch (e) {
    progress.done();
    if (e instanceof BodyError) throw new CliError(e.message, EXIT.usage);
    throw e;
  }
  const headers: Record<string, string> = { "Content-Type": body.contentType, "Content-Length": String(body.bytes) };
  if (v["idempotency-key"] !== undefined) headers["Idempotency-Key"] = v["idempotency-key"];
  let res: Awaited<ReturnType<Api["request"]>>;
  try {
    res = await c.api().request<z.infer<typeof CalibrationCreated>>("createCalibration", {
      body: bodyStream(body.chunks, (sent) => progress.update("uploading", sent, body.bytes)),
      headers,
      ...(body.query ? { query: body.query } : {}),
      okStatuses: [200, 201],
    });
  } finally {
    progress.done();
  }
  const created = res.body as z.infer<typeof CalibrationCreated>;
  const shift = created.shift as ShiftWithDecision | null;
  const { decision, source } = rebuildDecision(shift);
  const code = exitCodeFor(decision, v.strict === true);
  const upload = {
    file: file === "-" ? "stdin" : file,
    format: data.format,
    scores: data.scores.length,
    queries: data.offsets ? data.offsets.length - 1 : null,
    score_column: data.scoreColumn,
    query_column: data.queryColumn,
    content_type: body.contentType,
    bytes: body.bytes,
    note: body.note,
    replayed: res.headers.get("idempotent-replayed") === "true",
  };
  if (c.json) {
    c.out(JSON.stringify({ ...created, decision, decision_source: source, dry_run: v["dry-run"] === true, exit_code: code, upload }));
    if (decision === "inconclusive" && code === 0) c.warn("warning: the rebuild decision is inconclusive (exit 0 without --strict)");
    return code;
  }
  const cal = created.calibration;
  const lines: string[] = [];
  const served = v["dry-run"]
    ? `dry run: stored, not served; promote it with scoregate activate ${cal.id}`
    : cal.current
      ? "active, now served"
      : "active";
  lines.push(`Calibrated ${cal.index} / ${cal.embedding} / ${cal.reranker}, index version ${cal.index_version}: ${cal.id} (${served})`);
  if (upload.replayed) lines.push("  (replayed: this --idempotency-key was used before; this is the first upload's answer)");
  const cols = [
    data.scoreColumn ? `score column ${JSON.stringify(data.scoreColumn)}` : null,
    data.queryColumn ? `query column ${JSON.stringify(data.queryColumn)}` : null,
  ]
    .filter(Boolean)
    .join(", ");
  lines.push(
    `  read        ${int(data.scores.length)} scores${upload.queries !== null ? ` in ${int(upload.queries)} queries` : ""} from ${upload.file} (${data.format}${cols ? `, ${cols}` : ""})`,
  );
  lines.push(
    `  sent        ${(body.bytes / 1024 / 1024).toFixed(1)} MB as ${body.contentType === "application/x-ndjson" ? "NDJSON (full precision)" : "float32"}${body.note ? `: ${body.note}` : ""}`,
  );
  const ti = cal.threshold_interval_95;
  lines.push(
    `  threshold   ${fmtNum(cal.threshold)}${cal.threshold !== null ? `  (95 %: ${fmtNum(ti[0])} to ${fmtNum(ti[1])})` : " (target 0: no gate, everything is kept)"}`,
  );
  const di = cal.drop_rate_interval_95;
  lines.push(`  drop rate   target ${pct(cal.target_drop_rate)}, expected ${pct(cal.expected_drop_rate, 2)} (95 %: ${pct(di[0])} to ${pct(di[1])})`);
  if (cal.carry)
    lines.push(
      `  carried     ${fmtNum(cal.carry.reference_threshold)} dropped ${pct(cal.carry.reference_drop_rate)} of the reference (${cal.carry.reference.kind === "calibration" ? cal.carry.reference.calibration_id : `${int(cal.carry.reference.n)} inline scores`})`,
    );
  if (cal.per_query)
    lines.push(
      `  per query   ${cal.per_query.mean_candidates.toFixed(1)} candidates, ${cal.per_query.mean_kept.toFixed(1)} kept, ${pct(cal.per_query.empty_context_rate)} left empty, design effect ${cal.per_query.design_effect.toFixed(2)}`,
    );
  const short = cal.per_query?.empty_context_by_candidates?.filter((s) => s.min_candidates <= 3 && !s.extrapolated) ?? [];
  if (short.length > 0)
    lines.push(`  left empty  at ${short.map((s) => s.min_candidates).join(" / ")} candidates a query: ${short.map((s) => pct(s.rate)).join(" / ")}`);
  if (shift) {
    lines.push(
      `Shift against ${shift.previous_index_version} (${shift.previous_calibration_id}, ${shift.compared_with === "gate_current" ? "the gate's current calibration" : "the carry reference"}):`,
    );
    const ci = shift.change_interval_95 ? ` (95 %: ${shift.change_interval_95[0].toFixed(1)} to ${shift.change_interval_95[1].toFixed(1)})` : "";
    lines.push(
      `  the previous threshold ${fmtNum(shift.previous_threshold)} drops ${pct(shift.drop_rate_at_previous_threshold)} of the new scores against ${pct(shift.previous_drop_rate_at_previous_threshold)} before: ${shift.change_points >= 0 ? "+" : ""}${shift.change_points.toFixed(1)} points${ci}, tolerance ${(shift.tolerance * 100).toFixed(1)}`,
    );
    lines.push(
      `  z = ${shift.z.toFixed(2)}, p = ${shift.p_value.toPrecision(2)}, KS ${shift.ks.toFixed(3)}, PSI ${shift.psi.value.toFixed(3)}${shift.psi.exceeds ? " (over its threshold)" : ""}`,
    );
    lines.push(`  ${shift.reason}`);
  } else lines.push("Shift: none (the gate had no calibration to compare with)");
  const warnings = [...created.warnings, ...cal.warnings.filter((w) => !created.warnings.some((x) => x.code === w.code))];
  for (const w of warnings) lines.push(`Warning (${w.code}): ${w.message}`);
  const label =
    decision === null
      ? "no previous calibration"
      : decision === "shifted"
        ? "SHIFTED: the previous threshold's drop rate moved beyond the tolerance"
        : decision === "inconclusive"
          ? "INCONCLUSIVE: the data cannot tell whether the drop rate moved beyond the tolerance"
          : "equivalent: the drop rate stayed within the tolerance";
  lines.push(
    `Decision: ${label}${source === "legacy" ? " (derived from alert and change_points: the server sends no decision)" : ""} -> exit ${code}`,
  );
  c.out(lines.join("\n"));
  if (decision === "inconclusive" && code === 0) c.warn("warning: the rebuild decision is inconclusive; exit 0 because --strict is not set");
  return code;
}

// ---------------------------------------------------------------------------------------------------------------
// the other commands
// ---------------------------------------------------------------------------------------------------------------

async function threshold(c: Ctx): Promise<number> {
  const gate = gateFlags(c.v, true);
  const query: Record<string, string | undefined> = { ...gate, index_version: c.v["index-version"] };
  const res = await c.api().request<ThresholdResponse>("getThreshold", { query });
  const t = res.body;
  if (c.json) {
    c.out(JSON.stringify({ ...t, etag: res.headers.get("etag"), source: res.headers.get("x-scoregate-source") }));
    return EXIT.ok;
  }
  c.out(
    [
      `${fmtNum(t.threshold)}${t.threshold === null ? " (no gate: everything is kept)" : ""}`,
      `  gate          ${t.index} / ${t.embedding} / ${t.reranker}, index version ${t.index_version}`,
      `  calibration   ${t.calibration_id} (fitted ${t.fitted_at}, activated ${t.activated_at})`,
      `  drop rate     expected ${pct(t.expected_drop_rate, 2)}; policy ${t.policy.kind === "carry" ? `carry ${fmtNum(t.policy.threshold)}` : `${t.policy.kind} ${t.policy.target}`}; scale ${t.score_scale}`,
    ].join("\n"),
  );
  return EXIT.ok;
}

async function history(c: Ctx): Promise<number> {
  const gate = gateFlags(c.v, true);
  const limit = num(c.v.limit, "--limit", (x) => Number.isInteger(x) && x >= 1 && x <= 200, "a whole number from 1 to 200");
  const res = await c.api().request<z.infer<typeof CalibrationHistory>>("listCalibrations", { query: { ...gate, limit, cursor: c.v.cursor } });
  const h = res.body;
  if (c.json) {
    c.out(JSON.stringify(h));
    return EXIT.ok;
  }
  const lines = [`Gate ${h.gate_id}: ${h.calibrations.length} calibration(s), newest first`];
  for (const cal of h.calibrations) {
    const flags = [cal.current ? "current" : null, cal.active ? "active" : null].filter(Boolean).join(", ");
    lines.push(
      `  ${cal.id}  ${cal.index_version.padEnd(10)} threshold ${fmtNum(cal.threshold).padEnd(10)} expected drop ${pct(cal.expected_drop_rate).padEnd(8)} n ${int(cal.n).padStart(9)}  ${cal.created_at}${flags ? `  [${flags}]` : ""}${cal.shift?.alert ? "  shift alert" : ""}`,
    );
  }
  if (h.activations.length > 0) {
    lines.push("Activations, newest first:");
    for (const a of h.activations)
      lines.push(
        `  ${a.activated_at}  ${a.calibration_id} (${a.index_version}) by ${a.actor}${a.previous_calibration_id ? `, replacing ${a.previous_calibration_id}` : ""}${a.reason ? `: ${a.reason}` : ""}`,
      );
  }
  if (h.next_cursor) lines.push(`More: --cursor ${h.next_cursor}`);
  c.out(lines.join("\n"));
  return EXIT.ok;
}

async function activate(c: Ctx): Promise<number> {
  const id = c.positionals[0];
  if (id === undefined || c.positionals.length > 1) throw usage("activate takes one calibration id: scoregate activate cal_... [--reason TEXT]");
  const body = JSON.stringify(c.v.reason !== undefined ? { reason: c.v.reason } : {});
  const res = await c.api().request<z.infer<typeof ActivationResult>>("activateCalibration", {
    params: { id },
    body,
    headers: { "Content-Type": "application/json" },
  });
  const r = res.body;
  if (c.json) {
    c.out(JSON.stringify(r));
    return EXIT.ok;
  }
  const lines = [
    `Activated ${r.calibration.id} (${r.calibration.index} / ${r.calibration.embedding} / ${r.calibration.reranker}, index version ${r.calibration.index_version}): threshold ${fmtNum(r.calibration.threshold)} is served now`,
    `  replacing ${r.activation.previous_calibration_id ?? "nothing"}; recorded as ${r.activation.id} by ${r.activation.actor}${r.activation.reason ? `: ${r.activation.reason}` : ""}`,
  ];
  if (r.shift) lines.push(`  shift: ${r.shift.reason}`);
  for (const w of r.warnings) lines.push(`Warning (${w.code}): ${w.message}`);
  c.out(lines.join("\n"));
  return EXIT.ok;
}

async function alerts(c: Ctx): Promise<number> {
  const gate = gateFlags(c.v, false);
  const limit = num(c.v.limit, "--limit", (x) => Number.isInteger(x) && x >= 1 && x <= 200, "a whole number from 1 to 200");
  const res = await c.api().request<z.infer<typeof AlertList>>("listAlerts", { query: { ...gate, kind: c.v.kind, status: c.v.status, limit } });
  if (c.json) {
    c.out(JSON.stringify(res.body));
    return EXIT.ok;
  }
  const list = res.body.alerts;
  if (list.length === 0) {
    c.out("No alerts.");
    return EXIT.ok;
  }
  c.out(
    list
      .map(
        (a) =>
          `${a.id}  ${a.status.padEnd(12)} ${a.kind.padEnd(20)} ${a.gate.index} / ${a.gate.embedding} / ${a.gate.reranker}  (x${a.occurrences}, last ${a.last_seen_at})\n    ${a.summary}`,
      )
      .join("\n"),
  );
  return EXIT.ok;
}

async function gates(c: Ctx): Promise<number> {
  const res = await c.api().request<z.infer<typeof GateList>>("listGates");
  if (c.json) {
    c.out(JSON.stringify(res.body));
    return EXIT.ok;
  }
  const list = res.body.gates;
  if (list.length === 0) {
    c.out("No gates yet: scoregate calibrate creates one.");
    return EXIT.ok;
  }
  const lines: string[] = [];
  for (const g of list) {
    lines.push(`${g.index} / ${g.embedding} / ${g.reranker}  (gate ${g.gate_id}; current ${g.current_calibration_id ?? "none"})`);
    for (const a of g.active)
      lines.push(
        `  ${a.index_version.padEnd(12)} threshold ${fmtNum(a.threshold).padEnd(10)} expected drop ${pct(a.expected_drop_rate)}  ${a.calibration_id}  since ${a.activated_at}`,
      );
  }
  c.out(lines.join("\n"));
  return EXIT.ok;
}

const COMMANDS: Record<string, (c: Ctx) => Promise<number>> = { calibrate, threshold, history, activate, alerts, gates };

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const json = argv.includes("--json");
  const out = (s: string): void => void io.stdout.write(`${s}\n`);
  const warn = (s: string): void => void io.stderr.write(`${s}\n`);
  try {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
    try {
      parsed = parseArgs({ args: normalizeArgv(argv), options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
      throw usage((e as Error).message.split("\n")[0]!.replace(/\. To specify a positional argument.*$/u, ""));
    }
    const { values: v, positionals } = parsed;
    if (v.version) {
      out(VERSION);
      return EXIT.ok;
    }
    const [command, ...rest] = positionals;
    if (v.help || command === undefined || command === "help") {
      out(USAGE);
      return command === undefined && !v.help ? EXIT.usage : EXIT.ok;
    }
    const fn = COMMANDS[command];
    if (!fn) throw usage(`unknown command ${JSON.stringify(command)}: use one of ${Object.keys(COMMANDS).join(", ")}`);
    const timeout = num(v.timeout, "--timeout", (x) => x > 0, "a positive number of seconds");
    const api = (): Api => {
      const baseUrl = v.url ?? io.env.SCOREGATE_URL ?? "http://localhost:8787";
      try {
        new URL(baseUrl);
      } catch {
        throw usage(`${JSON.stringify(baseUrl)} is not a URL: set --url or SCOREGATE_URL to the server, e.g. http://localhost:8787`);
      }
      const token = v.token ?? io.env.SCOREGATE_TOKEN;
      if (token === undefined || token === "")
        throw usage(
          `no token: set SCOREGATE_TOKEN or --token (${command === "calibrate" ? "a calibrate" : command === "activate" ? "an admin" : "a read"} token; locally dev-${command === "calibrate" ? "calibrate" : command === "activate" ? "admin" : "read"})`,
        );
      return new Api({
        baseUrl,
        token,
        timeoutMs: (timeout ?? (command === "calibrate" ? 300 : 30)) * 1000,
        ...(io.fetch ? { fetch: io.fetch } : {}),
      });
    };
    return await fn({ io, v, positionals: rest, api, json, out, warn });
  } catch (e) {
    const err =
      e instanceof CliError
        ? e
        : new CliError(`unexpected failure: ${(e as Error)?.stack ?? String(e)}`, EXIT.failure, ["this is a bug in the CLI: please report it"]);
    if (json) {
      out(
        JSON.stringify({
          error: {
            message: err.message,
            details: err.details,
            ...(err.response ? { status: err.response.status, response: err.response.body } : {}),
          },
          exit_code: err.exitCode,
        }),
      );
    } else {
      warn(`scoregate: ${err.message}`);
      for (const d of err.details) warn(`  ${d}`);
    }
    return err.exitCode;
  }
}
