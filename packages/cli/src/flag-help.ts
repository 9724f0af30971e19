/**
 * What every flag means, in one table: `scoregate CMD --help` lists the flags COMMAND_FLAGS gives CMD with these
 * words, so the help and the flag check cannot drift apart (test/help.test.ts holds them to each other). A flag's
 * text names only flags of the commands that take it; `per` words it for one command where it means more there.
 */
import {
  DEFAULT_INDEX,
  DEFAULT_MAX_STEP_HOURS,
  DEFAULT_PAGE_SIZE,
  DEFAULT_PROMOTION_QUERIES,
  DEFAULT_PROMOTION_STEPS,
  DEFAULT_SHADOW_SAMPLE_RATE,
  DEFAULT_SHIFT_TOLERANCE,
  MAX_PAGE_SIZE,
  MAX_PROMOTION_QUERIES,
  MAX_STEP_HOURS,
  MIN_PROMOTION_QUERIES,
} from "../../../src/contract";
import { type OPTIONS, SCORE_SCALES, type ValueFlag } from "./args";
import type { CommandName } from "./command-flags";
import { FORMATS, QUERY_NAMES, SCORE_NAMES } from "./file-layout";
import { count } from "./format";
import {
  CALIBRATE_TIMEOUT_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  defaultTimeoutSeconds,
  MAX_PROMOTION_WAIT_SECONDS,
  PROMOTION_WAIT_POLL_MS,
} from "./timeouts";

type Flag = keyof typeof OPTIONS;

/** A flag's words for one command, where they differ from its own. */
interface FlagWords {
  readonly text: string;
  /** What applies when the flag is not given (shown as "(default ...)"); absent when nothing does. */
  readonly default?: string;
}

/** A flag's help: the placeholder of its value (every flag that takes one has one, a switch none), words and default. */
export type FlagHelp<F extends Flag> = FlagWords & {
  readonly per?: Partial<Record<CommandName, FlagWords>>;
  /** The default for one command, where it depends on the command (`default` is the overview's words for all). */
  readonly defaultFor?: (command: CommandName) => string;
} & (F extends ValueFlag ? { readonly arg: string } : { readonly arg?: never });

const GATE_DEFAULT = JSON.stringify(DEFAULT_INDEX);

/** "a, b or c". */
const words = (names: readonly string[]): string => `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;

export const FLAG_HELP: { readonly [F in Flag]: FlagHelp<F> } = {
  url: { arg: "URL", text: "the server's base URL", default: "$SCOREGATE_URL (unless empty), else http://localhost:8787" },
  token: { arg: "TOKEN", text: "bearer token", default: "$SCOREGATE_TOKEN" },
  json: { text: 'machine-readable output on stdout (errors too: {"error": {"code", "message", ...}, "exit_code"})' },
  timeout: {
    arg: "SECONDS",
    text: "per request",
    default: `${CALIBRATE_TIMEOUT_SECONDS} for calibrate, ${DEFAULT_TIMEOUT_SECONDS} otherwise`,
    // a command's help shows the one default that applies to it
    defaultFor: (command) => String(defaultTimeoutSeconds(command)),
  },
  help: { text: "this help (scoregate CMD --help: one command's)" },
  version: { text: "the CLI's version" },
  index: {
    arg: "I",
    text: "the gate's collection",
    default: GATE_DEFAULT,
    per: { alerts: { text: "only this collection's alerts (with --embedding and --reranker: one gate's)" } },
  },
  embedding: { arg: "E", text: "the gate's embedding model, e.g. intfloat/e5-large-v2" },
  reranker: { arg: "R", text: "the gate's reranker, e.g. BAAI/bge-reranker-v2-m3" },
  "index-version": {
    arg: "V",
    text: "the index build these scores come from (a build id or a date)",
    per: { threshold: { text: "the threshold a request pinned to this index version reads", default: "the gate's current calibration" } },
  },
  target: { arg: "D", text: "drop the bottom share D of candidates (0 <= D < 1, e.g. 0.2)" },
  carry: {
    arg: "[THRESHOLD]",
    text: "keep the drop rate THRESHOLD had on the reference (omit THRESHOLD: the reference's own threshold)",
  },
  recall: {
    arg: "R",
    text:
      "a recall gate (needs --label-column): the highest threshold that keeps relevant candidates for at least the share R " +
      "of fresh queries, a finite-sample guarantee (0 < R < 1, e.g. 0.9)",
  },
  coverage: {
    arg: "C",
    text:
      "what --recall guarantees: any_relevant (a relevant candidate kept), all_relevant (every relevant candidate kept) " +
      "or candidates (the share of a query's relevant candidates kept)",
    default: "any_relevant",
  },
  reference: { arg: "REF", text: 'what --carry carries from: "active" (the gate\'s current calibration) or a calibration id', default: "active" },
  "min-keep": {
    arg: "N",
    text:
      "guard: keep at least the top N candidates of every query (all of a shorter one); the threshold is fitted so that " +
      "the guarded gate drops the target (needs a query column)",
  },
  "max-keep": {
    arg: "N",
    text:
      "guard: keep at most N candidates of any query (N >= 1, >= --min-keep; needs a query column). With --carry and " +
      "neither guard flag, the reference's guards are kept; --min-keep 0 drops them",
  },
  "abstain-rate": {
    arg: "R",
    text:
      "abstention: a query keeps nothing when its top score is below a cutoff fitted so that the share R of queries " +
      "abstains (0 <= R < 1, e.g. 0.05; needs a query column)",
  },
  "abstain-carry": {
    text: "abstention, with --carry: the reference's abstention rate, refitted on these top scores (a carry keeps no abstention unless asked)",
  },
  "abstain-alpha": {
    arg: "A",
    text:
      "abstention with labels (--label-column) or answerable flags (--answerable-column): at most the share A of " +
      "answerable queries abstain, a finite-sample guarantee (0 < A < 1, e.g. 0.1)",
  },
  "label-column": {
    arg: "C",
    text: "column (or JSONL field) with each candidate's relevance label: 0/1, or graded with --relevant-at X; uploaded as " + "labelled queries",
  },
  "relevant-at": { arg: "X", text: "with --label-column: a graded label is relevant iff it is >= X" },
  "answerable-column": {
    arg: "C",
    text:
      "with --abstain-alpha: column (or JSONL field) with each row's query-level answerable flag (true/false, 1/0 or " +
      "yes/no; the same on every row of a query)",
    default: "a query is answerable iff it has a relevant candidate",
  },
  format: { arg: "F", text: FORMATS.join(" | "), default: "from the file name, else detected from the first line" },
  delimiter: {
    arg: "C",
    text: "CSV field separator: comma, semicolon, tab or pipe",
    default: "detected from the first lines, with decimal commas (0,734) when the separator is not a comma",
  },
  "score-column": {
    arg: "C",
    text: "score column name (or 1-based position without a header)",
    default: `the one column named ${words(SCORE_NAMES)} (several: refused), else the only column`,
  },
  "query-column": {
    arg: "C",
    text: "column grouping rows into queries",
    default: `the column named ${words(QUERY_NAMES)}, if there is one (several: the first of these names; one name twice: refused)`,
  },
  "no-query-column": { text: "upload the scores as one flat list (refused without it when a column looks like a query id)" },
  "score-scale": { arg: "S", text: SCORE_SCALES.join(" | "), default: "unbounded" },
  "shift-tolerance": { arg: "T", text: "rebuild shift tolerance in drop-rate units (0.02 = 2 points)", default: String(DEFAULT_SHIFT_TOLERANCE) },
  "dry-run": {
    text: "the whole report (fit, shift, decision, would it be served) with nothing stored or served",
    per: { activate: { text: "what the activation would give (threshold, warnings, shift) with nothing changed" } },
  },
  strict: { text: "against a server that sends no activation outcome: exit 4 when the rebuild decision is inconclusive" },
  "idempotency-key": {
    arg: "K",
    text: "the upload's Idempotency-Key: an upload sent again with the same key replays the first answer instead of calibrating twice",
    default: "a new one per run, reused by the run's retries",
    per: {
      promote: {
        text: "the change's Idempotency-Key: a start or an override sent again with the same key (a pipeline's rerun) answers what the first did instead of 409",
        default: "a new one per run, reused by the run's retries",
      },
    },
  },
  float32: {
    text: "send float32 (smaller; rounds scores to about 7 significant digits; not with --label-column, --recall or --answerable-column)",
  },
  "no-progress": { text: "no progress bar (it is shown only when stderr is a terminal)" },
  limit: { arg: "N", text: `one page of at most N (1 to ${MAX_PAGE_SIZE})`, default: `the server's ${DEFAULT_PAGE_SIZE}` },
  cursor: { arg: "C", text: "the next page: the C of the previous page's More: line" },
  reason: { arg: "TEXT", text: "why, recorded with the change in the audit trail" },
  kind: { arg: "K", text: "only alerts of this kind, e.g. rebuild_shift" },
  status: { arg: "S", text: "only alerts in this status, e.g. open" },
  steps: {
    arg: "P,P,...",
    text: "the candidate's share of keyed traffic per step, in whole %, ending with 100",
    default: DEFAULT_PROMOTION_STEPS.join(","),
  },
  straight: { text: "serve it at once (--steps 100), then watch it" },
  "min-queries": {
    arg: "N",
    text: `candidate queries a step needs before it can advance (${count(MIN_PROMOTION_QUERIES)} to ${count(MAX_PROMOTION_QUERIES)})`,
    default: count(DEFAULT_PROMOTION_QUERIES),
  },
  "on-regression": { arg: "W", text: "pause | rollback when the candidate regresses", default: "rollback" },
  "max-step-hours": {
    arg: "N",
    text: `hours a step may go without a decision before it pauses (at most ${MAX_STEP_HOURS})`,
    default: String(DEFAULT_MAX_STEP_HOURS),
  },
  tolerance: { arg: "X", text: "the drop-rate change that counts as equivalent, e.g. 0.02", default: "the calibration's" },
  pause: { text: "pause the open promotion: it stops advancing (the candidate keeps its step's share)" },
  resume: { text: "resume a paused promotion" },
  advance: { text: "move the open promotion to its next step now" },
  rollback: { text: "end the open promotion: the candidate's share goes back to the control" },
  "sample-rate": {
    arg: "R",
    text: "the share of queries clients mirror to it (0 < R <= 1); on an existing shadow, its new rate (the evidence so far is kept)",
    default: `the server's ${DEFAULT_SHADOW_SAMPLE_RATE}`,
  },
  remove: { text: "stop evaluating it" },
  gate: { arg: "ID", text: "the gate by id (scoregate gates lists them) instead of --index, --embedding and --reranker" },
  since: { arg: "SEQ", text: "resume after this event seq (the server replays what followed, or a snapshot)" },
  wait: {
    arg: "SECONDS",
    text: `wait up to SECONDS (at most ${count(MAX_PROMOTION_WAIT_SECONDS)}, a week) for the promotion to complete, pause or end, reading it every ${PROMOTION_WAIT_POLL_MS / 1000} s (a read that fails, the first one too, is tried again at the next; exit 1 only when the last one failed); the exit code says how it ended`,
  },
};

/** `flag`'s words for `command` (its `per` entry when it has one), or for the overview without one. */
export function flagWords(flag: Flag, command: CommandName | undefined): FlagWords {
  const h: FlagHelp<Flag> = FLAG_HELP[flag];
  if (command === undefined) return h;
  const words = h.per?.[command] ?? h;
  const d = h.defaultFor?.(command) ?? words.default;
  return { text: words.text, ...(d === undefined ? {} : { default: d }) };
}
