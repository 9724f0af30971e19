/**
 * The command line: the flags, and argv parsed with node:util's parseArgs, with "did you mean" for a
 * mistyped command, flag or value.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { AlertKind, AlertStatus, DEFAULT_INDEX, ScoreScale } from "../../../src/contract";
import { EXIT } from "./decision";
import { parseNumber } from "./delimiter";
import { CliError } from "./http";
import { didYouMean } from "./suggest";

export const OPTIONS = {
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
  recall: { type: "string" },
  coverage: { type: "string" },
  "min-keep": { type: "string" },
  "max-keep": { type: "string" },
  "abstain-rate": { type: "string" },
  "abstain-carry": { type: "boolean" },
  "abstain-alpha": { type: "string" },
  "label-column": { type: "string" },
  "relevant-at": { type: "string" },
  "answerable-column": { type: "string" },
  reference: { type: "string" },
  format: { type: "string" },
  delimiter: { type: "string" },
  "score-column": { type: "string" },
  "query-column": { type: "string" },
  "no-query-column": { type: "boolean" },
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
  steps: { type: "string" },
  straight: { type: "boolean" },
  "min-queries": { type: "string" },
  "on-regression": { type: "string" },
  "max-step-hours": { type: "string" },
  tolerance: { type: "string" },
  pause: { type: "boolean" },
  resume: { type: "boolean" },
  advance: { type: "boolean" },
  rollback: { type: "boolean" },
  "sample-rate": { type: "string" },
  remove: { type: "boolean" },
  gate: { type: "string" },
  since: { type: "string" },
  wait: { type: "string" },
} as const;

/** The flags that take a value. */
export type ValueFlag = { [K in keyof typeof OPTIONS]: (typeof OPTIONS)[K]["type"] extends "string" ? K : never }[keyof typeof OPTIONS];

/**
 * A typical value of every flag that takes one, for "--target needs a value, e.g. --target 0.2" (the compiler checks
 * that each such flag has one).
 */
export const VALUE_EXAMPLES = {
  url: "http://localhost:8787",
  token: "dev-read",
  timeout: "60",
  index: "docs",
  embedding: "intfloat/e5-large-v2",
  reranker: "BAAI/bge-reranker-v2-m3",
  "index-version": "v2",
  target: "0.2",
  carry: "0.4",
  recall: "0.9",
  coverage: "any_relevant",
  "min-keep": "3",
  "max-keep": "10",
  "abstain-rate": "0.05",
  "abstain-alpha": "0.1",
  "label-column": "relevance",
  "relevant-at": "2",
  "answerable-column": "answerable",
  reference: "active",
  format: "csv",
  delimiter: "semicolon",
  "score-column": "score",
  "query-column": "query_id",
  "score-scale": "probability",
  "shift-tolerance": "0.02",
  "idempotency-key": "build-1234",
  limit: "50",
  cursor: "C (the More: line of the previous page)",
  reason: '"reviewed"',
  kind: "rebuild_shift",
  status: "open",
  steps: "10,50,100",
  "min-queries": "500",
  "on-regression": "pause",
  "max-step-hours": "48",
  tolerance: "0.02",
  "sample-rate": "0.1",
  gate: "GATE_ID (scoregate gates lists them)",
  since: "42",
  wait: "3600",
} as const satisfies Record<ValueFlag, string>;

type Parsed = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
export type Values = Parsed["values"];

const FLAGS = Object.keys(OPTIONS);
const flag = (name: string): string => `--${name}`;

/** The last hint of a usage error (main.ts names the command's own help instead once the command is known). */
export const HELP_HINT = "scoregate --help lists the commands, scoregate COMMAND --help a command's flags";

/** A usage error: exit 2, with a pointer to --help. */
export const usage = (message: string, ...details: string[]): CliError => new CliError(message, EXIT.usage, "usage", [...details, HELP_HINT]);

/** Where the ids an id-taking command needs are listed, for the error of an empty one. */
export const ID_LISTING = "scoregate history --index I --embedding E --reranker R";

/**
 * The one id a command takes (activate, shadow, promote: a calibration id; promotion: a promotion or calibration id).
 * None, or more than one, is `usageLine`; an empty one (an unset shell variable in `"$V2"`, or a failed `V2=$(...)`)
 * is refused here with what to check, before a request to a path with an empty segment.
 */
export function oneId(positionals: readonly string[], usageLine: string, what = "calibration id"): string {
  const id = positionals[0];
  if (id === undefined || positionals.length > 1) throw usage(usageLine);
  if (id.trim() === "") throw usage(`the ${what} is empty: is the shell variable set? \`${ID_LISTING}\` lists the ids`);
  return id;
}

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

/** argv read leniently (an unknown flag is a boolean, nothing is refused), as parseArgs' tokens. */
const lenientTokens = (args: string[]) => parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: false, tokens: true }).tokens;

/**
 * The command argv names, read before its flags are checked: the first positional argument (undefined when there is
 * none), the positional arguments after it, the flags given (by name) and whether --help (-h) is among them. A flag's
 * error can then point at that command's help and suggest only the flags it reads; the bin's signal handlers read the
 * command the same way (interrupted.ts), so `--url URL watch` is watch, not a command named URL.
 */
export function peekCommand(argv: readonly string[]): { command: string | undefined; help: boolean; rest: string[]; flags: string[] } {
  const tokens = lenientTokens(normalizeArgv(argv));
  const positionals = tokens.flatMap((t) => (t.kind === "positional" ? [t.value] : []));
  const flags = tokens.flatMap((t) => (t.kind === "option" ? [t.name] : []));
  return { command: positionals[0], help: flags.includes("help"), rest: positionals.slice(1), flags };
}

/** The command whose flags parseArgv checks (main.ts builds it from COMMAND_FLAGS once the command is known). */
export interface CommandFlags {
  /** The flags the command reads, the global ones included: a mistyped flag is matched against these only. */
  takes: readonly string[];
  /**
   * Throws the refusal of a known flag the command does not read. Called before the flag's value is checked, so
   * `threshold --target` (no value) says that threshold does not take --target rather than how to give it a value.
   * Left out for `CMD --help`, which prints the help even beside a flag CMD does not take.
   */
  refuse?: (flag: string) => void;
}

/**
 * argv -> flags and positionals. parseArgs names an unknown flag but suggests nothing, so the flags are first read
 * leniently (tokens) and the first unknown one is refused with the closest known flag: of `command` when it is
 * known (a suggestion it would then refuse helps no one), else of any command.
 */
export function parseArgv(argv: readonly string[], command?: CommandFlags): { values: Values; positionals: string[] } {
  const args = normalizeArgv(argv);
  const tokens = lenientTokens(args);
  const known = command?.takes ?? FLAGS;
  // A value flag given twice would silently take its last value (node:util's rule): a pipeline that appends
  // `--target 0.4` to a command that has `--target 0.3` must learn which one it asked for.
  const given = new Map<string, string | undefined>();
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    if (Object.hasOwn(OPTIONS, t.name)) {
      if (command !== undefined && !command.takes.includes(t.name)) command.refuse?.(t.name);
      missingValue(t.name as keyof typeof OPTIONS, t.value, t.inlineValue);
      if (Object.hasOwn(VALUE_EXAMPLES, t.name)) {
        if (given.has(t.name))
          throw usage(`--${t.name} is given twice (${JSON.stringify(given.get(t.name))} and ${JSON.stringify(t.value)}): give it once`);
        given.set(t.name, t.value);
      }
      continue;
    }
    const raw = args[t.index]!;
    // "-target": parseArgs reads it as the short flags -t -a -r ...; it was meant as one long flag
    if (/^-[^-]{2,}/u.test(raw)) {
      const word = raw.slice(1).replace(/=.*$/su, "");
      throw usage(`unknown flag ${JSON.stringify(raw.replace(/=.*$/su, ""))}: flags take two dashes${didYouMean(word, known, flag)}`);
    }
    throw usage(`unknown flag ${t.rawName}${didYouMean(t.name, known, flag)}`);
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    // what the checks above leave to node:util: a value given to a flag that takes none (--json=yes)
    const [first, ...rest] = (e as Error).message.split("\n");
    throw usage(first!.replace(/\. To specify a positional argument.*$/u, ""), ...rest);
  }
  carryValue(argv, parsed.positionals);
  return parsed;
}

/**
 * A word after a bare `--carry` that is no number, which the command then read as a second file (calibrate takes one):
 * --carry takes an optional number only, and what it carries from is --reference's.
 */
function carryValue(argv: readonly string[], positionals: readonly string[]): void {
  // the command, its file and a word more
  if (positionals.length < 3) return;
  const at = argv.indexOf("--carry");
  const word = at === -1 ? undefined : argv[at + 1];
  if (word === undefined || word.startsWith("-") || !positionals.includes(word) || /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/u.test(word)) return;
  // a file: two files were given, which calibrate says itself
  if (existsSync(word)) return;
  const reference = word === "active" || word.startsWith("cal_");
  throw usage(
    reference
      ? `--carry takes no calibration (only an optional number, the old absolute threshold): did you mean --reference ${word}?`
      : `--carry takes no value but an optional number (the old absolute threshold), not ${JSON.stringify(word)}; what it carries from is --reference REF ("active" or a calibration id)`,
  );
}

/**
 * A flag that takes a value and got none, in the CLI's words rather than node:util's ("Option '--target <value>'
 * argument missing"): read leniently, a bare `--target` has no value, and `--target --dry-run` took the next flag as
 * its value (node:util calls that ambiguous; a value that starts with a dash is written `--target=-x`).
 */
function missingValue(name: keyof typeof OPTIONS, value: string | undefined, inline: boolean | undefined): void {
  if (!Object.hasOwn(VALUE_EXAMPLES, name)) return;
  const example = VALUE_EXAMPLES[name as ValueFlag];
  const needs = `--${name} needs a value, e.g. --${name} ${example}`;
  if (value === undefined) throw usage(needs);
  if (inline !== true && value.startsWith("-") && value !== "-") {
    // followed by another flag: the value was left out; anything else (-0.1) may be a value that starts with a dash
    const flag = /^--?([a-z][a-z-]*)(=|$)/u.exec(value)?.[1];
    if (flag !== undefined && (Object.hasOwn(OPTIONS, flag) || flag.startsWith("no-")))
      throw usage(`${needs}: it is followed by the flag ${value.split("=")[0]}`);
    throw usage(
      `${needs}: it is followed by ${JSON.stringify(value)}`,
      `a value that starts with a dash goes after an equals sign: --${name}=${value}`,
    );
  }
}

/** A command name, or a usage error naming the closest one. */
export function commandName<K extends string>(command: string, known: readonly K[]): K {
  if ((known as readonly string[]).includes(command)) return command as K;
  throw usage(`unknown command ${JSON.stringify(command)}${didYouMean(command, known)}`, `the commands: ${known.join(", ")}`);
}

/** The value of a flag that takes one of a few words, or a usage error naming the closest. */
export function oneOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw usage(`--${name} ${JSON.stringify(value)} is not one of ${allowed.join(", ")}${didYouMean(value, allowed)}`);
}

/** The words the server accepts for --score-scale, --kind and --status (from the contract). */
export const SCORE_SCALES = ScoreScale.options;
export const ALERT_KINDS = AlertKind.options;
export const ALERT_STATUSES = AlertStatus.options;

/**
 * A number flag in its range, or a usage error. Read as a score is (parseNumber): "0x10", "0b1" and "0o7" are
 * JavaScript's integer literals, not how a rate or a threshold is written (`--target 0x0` was a target of 0).
 */
export function num(v: string | undefined, flagName: string, check: (x: number) => boolean, range: string): number | undefined {
  if (v === undefined) return undefined;
  const x = parseNumber(v);
  if (x === null || !check(x)) throw usage(`${flagName} ${JSON.stringify(v)} is not valid: it must be ${range}`);
  return x;
}

/** What a count flag accepts: decimal digits and nothing else. */
const DIGITS = /^\d+$/u;

/**
 * A count flag (--limit, --min-keep, --max-keep, --min-queries, --since) from `min` to `max`, or a usage error naming
 * the flag, what it got and `range`. Only plain decimal digits: Number() also reads "2e3", "0x10", "1.0", "+5" and
 * " 5", none of which is how a count is written (a pipeline that computes "2e3" has a bug worth hearing about).
 */
export function countFlag(v: string | undefined, flagName: string, min: number, max: number, range: string): number | undefined {
  if (v === undefined) return undefined;
  const digits = DIGITS.test(v);
  const x = digits ? Number(v) : Number.NaN;
  if (!(x >= min && x <= max))
    throw usage(`${flagName} ${JSON.stringify(v)} is not valid: it must be ${range}${digits ? "" : ", written in decimal digits only"}`);
  return x;
}

/** What a duration flag accepts: decimal digits with at most one decimal point (30, 0.5, .5). */
const PLAIN_DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/u;

/**
 * A duration flag (--timeout in seconds, --max-step-hours) in its range, or a usage error naming the flag, what it got
 * and `range`. Only plain decimals, as count flags take digits only: Number() also reads "1e3", "0x10", "+5", " 5" and
 * "Infinity", none of which is how a person writes a wait (a pipeline that computes "1e3" has a bug worth hearing
 * about, not a timeout of 1,000 s).
 */
export function durationFlag(v: string | undefined, flagName: string, check: (x: number) => boolean, range: string): number | undefined {
  if (v === undefined) return undefined;
  const plain = PLAIN_DECIMAL.test(v);
  const x = plain ? Number(v) : Number.NaN;
  if (!check(x))
    throw usage(
      `${flagName} ${JSON.stringify(v)} is not valid: it must be ${range}${plain ? "" : ", written as a plain decimal number (e.g. 30 or 0.5)"}`,
    );
  return x;
}

export interface GateFlags {
  index?: string;
  embedding?: string;
  reranker?: string;
}

/**
 * A report's head for the gate its flags named: its names as `gates` and `threshold` print them, then its id (what
 * the API and the dashboard's addresses use), `docs / e5 / bge (gate 526bd4...)`.
 */
export function gateTitle(gate: GateFlags, gateId: string): string {
  return `${gate.index ?? DEFAULT_INDEX} / ${gate.embedding} / ${gate.reranker} (gate ${gateId})`;
}

/** --index, --embedding, --reranker; with `required`, a usage error when --embedding or --reranker is missing. */
export function gateFlags(v: Values, required: boolean): GateFlags {
  if (required && (v.embedding === undefined || v.reranker === undefined)) {
    const missing = [v.embedding === undefined ? "--embedding" : null, v.reranker === undefined ? "--reranker" : null].filter(Boolean).join(" and ");
    throw usage(`missing ${missing}: a gate is (--index, --embedding, --reranker); scoregate gates lists the known ones`);
  }
  const out: GateFlags = {};
  if (v.index !== undefined) out.index = v.index;
  if (v.embedding !== undefined) out.embedding = v.embedding;
  if (v.reranker !== undefined) out.reranker = v.reranker;
  return out;
}
