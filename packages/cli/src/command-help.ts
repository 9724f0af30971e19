/**
 * What each command is for, in one table: `scoregate --help` prints each command's `line`, `scoregate CMD --help` its
 * synopsis, summary, token scope, exit codes and examples (its flags come from COMMAND_FLAGS and ./flag-help).
 */
import type { CommandName } from "./command-flags";
import { EXIT } from "./decision";

/** The token scope a command's requests need (the server refuses a narrower one with 403). */
export type Scope = "read" | "calibrate" | "admin";

export interface CommandHelp {
  /** One line for the overview. */
  readonly line: string;
  /** The argument forms, each without the leading "scoregate CMD". */
  readonly synopsis: readonly string[];
  /** What it does, in one to three sentences. */
  readonly summary: string;
  readonly scope: Scope;
  /** The exit codes particular to the command (1, 2 and the signals' are every command's). */
  readonly exits: readonly (readonly [code: string, meaning: string])[];
  readonly examples: readonly string[];
}

const GATE = "--index docs --embedding intfloat/e5-large-v2 --reranker BAAI/bge-reranker-v2-m3";

/** The codes every command exits with, after its own. */
export const COMMON_EXITS = [
  [String(EXIT.failure), "network or server failure (unreachable, timeout, 429, 5xx)"],
  [String(EXIT.usage), "usage or bad input (flags, the file, or the server's 4xx, explained); nothing is changed"],
] as const;

/** How an interrupted command ends: every one but watch stops at once with the shell's codes. */
export const INTERRUPTED_EXIT = ["130, 143", "interrupted by SIGINT (Ctrl-C) or SIGTERM: stopped at once"] as const;

export const COMMAND_HELP = {
  calibrate: {
    line: "calibrate a gate from a score file; served when the rebuild is equivalent",
    synopsis: ["FILE|- --embedding E --reranker R --index-version V (--target D | --carry [THRESHOLD] | --recall R [--coverage C]) [flags]"],
    summary:
      "Reads reranker scores (CSV, TSV, JSONL or plain text; - for stdin), uploads them and prints the fitted threshold, " +
      "the rebuild's shift against the served calibration and the decision. The server serves the upload only when it " +
      "is the gate's first calibration or the rebuild is equivalent; the exit code says which.",
    scope: "calibrate",
    exits: [
      [String(EXIT.ok), "served now (with --dry-run: would be; a replay of an earlier run's --idempotency-key: served when first uploaded)"],
      [String(EXIT.shifted), "not served: the rebuild shifted the gate, or changes what it drops (drop_rate_changed)"],
      [String(EXIT.inconclusive), "not served: the rebuild decision is inconclusive"],
      [String(EXIT.targetMissed), "not served: the expected drop rate misses the target (too few scores for it)"],
      [String(EXIT.promotionOpen), "not served: the gate has an open guarded promotion (serving would end it)"],
    ],
    examples: [
      `scoregate calibrate scores.csv ${GATE} --index-version v2 --carry`,
      `scoregate calibrate judged.csv ${GATE} --index-version v2 --recall 0.9 --label-column grade --relevant-at 2`,
    ],
  },
  threshold: {
    line: "the threshold a gate serves, with its calibration and policy",
    synopsis: ["--embedding E --reranker R [--index I] [--index-version V]"],
    summary:
      "Prints the threshold the gate serves now (or to a request pinned to an index version), its calibration, policy, " +
      "expected drop rate, guards and abstention; during a promotion the candidate's share of keyed requests with its " +
      "own threshold, guards and abstention; and each shadow with its sample rate and threshold.",
    scope: "read",
    exits: [[String(EXIT.ok), "printed"]],
    examples: [`scoregate threshold ${GATE}`, `scoregate threshold ${GATE} --index-version v2 --json`],
  },
  history: {
    line: "a gate's calibrations and activations, newest first",
    synopsis: ["--embedding E --reranker R [--index I] [--limit N] [--cursor C]"],
    summary:
      "Lists a gate's calibrations newest first, marking what it serves ([current]) and what each pinned index version " +
      "reads ([active]), then its activations (promotion steps are read with scoregate promotion); one page at a time.",
    scope: "read",
    exits: [[String(EXIT.ok), "printed"]],
    examples: [`scoregate history ${GATE}`, `scoregate history ${GATE} --limit 10`],
  },
  activate: {
    line: "serve a stored calibration now (promote or roll back)",
    synopsis: ["ID [--reason TEXT] [--dry-run]"],
    summary:
      "Serves the stored calibration ID on its gate at once, recording what it replaced, the server's warnings and the " +
      "shift against the calibration it replaces. On the calibration the gate already serves, it says so and changes nothing.",
    scope: "admin",
    exits: [[String(EXIT.ok), "activated (with --dry-run: printed what it would give; already current: nothing changed)"]],
    examples: ["scoregate activate cal_... --dry-run", 'scoregate activate cal_... --reason "reviewed the shift"'],
  },
  alerts: {
    line: "alerts newest first, of every gate or one",
    synopsis: ["[--kind K] [--status S] [--index I] [--embedding E --reranker R] [--limit N] [--cursor C]"],
    summary: "Lists alerts newest first, one page at a time: every gate's, one collection's (--index) or one gate's.",
    scope: "read",
    exits: [[String(EXIT.ok), "printed (also when there are none)"]],
    examples: ["scoregate alerts --status open", `scoregate alerts ${GATE} --kind rebuild_shift`],
  },
  monitor: {
    line: "a gate's production monitor: drift state, daily windows and recall coverage tests, with unscored candidates",
    synopsis: ["--embedding E --reranker R [--index I]"],
    summary:
      "Prints the gate's drift state, each open daily window (whose traffic, queries, observed drop rate against the " +
      "expected one, alarms; the abstention rate and how often min_keep binds, against their expected ones, when the " +
      "calibration abstains or keeps a minimum) and the finished windows newest first. Once services report candidates without a score, " +
      "each window gives their count and share of its reported candidates, and an unresolved unscored_candidates alert is printed. " +
      "A recall gate that receives judged queries adds its coverage test: the coverage observed over the judged queries against " +
      "the guaranteed level and the lowest one tolerated, its evidence and state, and while a recall_drift alarm stands the " +
      "numbers of the test that raised it (the test restarts at each alarm).",
    scope: "read",
    exits: [[String(EXIT.ok), "printed"]],
    examples: [`scoregate monitor ${GATE}`, `scoregate monitor ${GATE} --json`],
  },
  gates: {
    line: "every gate with the threshold each index version serves",
    synopsis: [""],
    summary:
      "Lists every gate with its current calibration and the threshold each active index version serves (all pages), " +
      "then its guards and abstention, an open promotion's split and its shadows (read from each gate's threshold).",
    scope: "read",
    exits: [[String(EXIT.ok), "printed"]],
    examples: ["scoregate gates", "scoregate gates --json"],
  },
  shadow: {
    line: "evaluate a calibration on mirrored traffic; exit code = its live decision or a drift alarm",
    synopsis: ["ID [--sample-rate R] [--reason TEXT]", "ID --remove [--reason TEXT]"],
    summary:
      "Puts calibration ID in shadow on its gate (clients mirror a share of queries to it) unless it is one already, " +
      "then prints its live decision against its own target and against the active gate, and its drift window's alarms. --remove stops it.",
    scope: "admin",
    exits: [
      [String(EXIT.ok), "equivalent to the active gate (or removed)"],
      [String(EXIT.shifted), "shifted, against the active gate or its own target, or its drift window alarmed"],
      [String(EXIT.inconclusive), "not decided yet"],
    ],
    examples: ["scoregate shadow cal_... --sample-rate 0.2", "scoregate shadow cal_... --remove"],
  },
  promote: {
    line: "start a guarded promotion of a stored calibration, or act on the open one",
    synopsis: [
      "ID [--steps P,P,... | --straight] [--min-queries N] [--on-regression W] [--max-step-hours N] [--tolerance X] [--reason TEXT] [--idempotency-key K] [--wait SECONDS]",
      "ID --pause | --rollback [--reason TEXT] [--idempotency-key K]",
      "ID --resume | --advance [--reason TEXT] [--idempotency-key K] [--wait SECONDS]",
    ],
    summary:
      "Starts a promotion of calibration ID: it serves a growing share of keyed traffic, step by step, while its evidence " +
      "holds, and pauses or rolls back when it regresses. With an override flag it acts on the open promotion instead.",
    scope: "admin",
    exits: [
      [String(EXIT.ok), "started, or the override applied; the promotion is printed (with --wait: once it completed)"],
      [String(EXIT.shifted), "with --wait: it did not complete (rolled back, superseded, or paused: a person decides)"],
      [String(EXIT.inconclusive), "with --wait: still running when the wait ran out"],
    ],
    examples: [
      "scoregate promote cal_... --steps 10,50,100 --min-queries 500 --on-regression rollback",
      'scoregate promote cal_... --pause --reason "holiday traffic"',
      "scoregate promote cal_... --steps 10,50,100 --idempotency-key promote-1234 --wait 86400",
    ],
  },
  promotion: {
    line: "a promotion as it stands: plan, state, split, evidence and audit trail",
    synopsis: ["ID [--wait SECONDS]"],
    summary:
      "Prints a promotion (ID prm_...), or a calibration's newest one (ID cal_...: its open one if any), as promote prints it. " +
      "With --wait, a rebuild pipeline waits for its outcome: the exit code says whether it completed.",
    scope: "read",
    exits: [
      [String(EXIT.ok), "printed; with --wait: completed (the candidate is served to everyone)"],
      [String(EXIT.shifted), "with --wait: it did not complete (rolled back, superseded, or paused: a person decides)"],
      [String(EXIT.inconclusive), "with --wait: still running when the wait ran out"],
    ],
    examples: ["scoregate promotion prm_...", "scoregate promotion cal_... --json", "scoregate promotion prm_... --wait 86400"],
  },
  watch: {
    line: "a gate's pushed changes as they happen, one line each, until interrupted",
    synopsis: ["--embedding E --reranker R [--index I] [--since SEQ]", "--gate ID [--since SEQ]"],
    summary:
      "Prints each change pushed for the gate (activations, shadows, promotion steps) as one line, NDJSON with --json. " +
      "It reconnects after a lost connection, resuming after the last event seen, and runs until Ctrl-C.",
    scope: "read",
    exits: [[String(EXIT.ok), "interrupted (Ctrl-C or SIGTERM): watch ends with 0"]],
    examples: [`scoregate watch ${GATE}`, "scoregate watch --gate 3f1c8a20d4e6b97c05a1f3e2d8b4c6a9 --since 42 --json"],
  },
} as const satisfies Record<CommandName, CommandHelp>;
