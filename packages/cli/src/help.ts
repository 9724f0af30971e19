/**
 * The help: `scoregate --help` (the overview: every command in one line, the global flags) and `scoregate CMD --help`
 * (one command: synopsis, summary, token, its flags with their defaults, exit codes, examples), as text or, with
 * --json, as one JSON document. The flags come from COMMAND_FLAGS, so a command's help lists what its flag check takes.
 */
import type { OPTIONS } from "./args";
import { COMMAND_FLAGS, type CommandName, GLOBAL_FLAGS } from "./command-flags";
import { COMMAND_HELP, COMMON_EXITS, INTERRUPTED_EXIT } from "./command-help";
import { FLAG_HELP, flagWords } from "./flag-help";
import { aToken } from "./http";

type Flag = keyof typeof OPTIONS;

/** Help lines are wrapped to this width (the widest a terminal reliably has, with room for indentation). */
export const HELP_WIDTH = 100;

/** A flag as help shows it: `--target D`, `-h, --help`. */
const spelled = (flag: Flag): string => {
  const arg = FLAG_HELP[flag].arg;
  return `${flag === "help" ? "-h, " : ""}--${flag}${arg === undefined ? "" : ` ${arg}`}`;
};

/**
 * `prefix` then `text` in lines of at most `width` characters (a longer word stands alone), every line after the first
 * indented by `indent` spaces; `prefix` is kept as it is (its padding aligns a table's second column).
 */
export function wrap(prefix: string, text: string, width: number, indent: number): string[] {
  const lines: string[] = [];
  let line = prefix;
  let empty = true;
  for (const word of text.split(/\s+/u).filter((w) => w !== "")) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `${" ".repeat(indent)}${word}`;
    } else line = empty ? `${line}${word}` : `${line} ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** A shell command in lines of at most HELP_WIDTH, each broken line ending with a backslash so that it pastes whole. */
const shellLines = (command: string): string[] => {
  const lines = wrap("  ", command, HELP_WIDTH - 2, 4);
  return lines.map((l, i) => (i < lines.length - 1 ? `${l} \\` : l));
};

/** Rows of a two-column table: the left column padded to its widest entry, the right one wrapped beside it. */
function table(rows: readonly (readonly [string, string])[], indent = 2): string[] {
  const left = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.flatMap(([l, r]) => wrap(`${" ".repeat(indent)}${l.padEnd(left)}`, r, HELP_WIDTH, indent + left));
}

export interface FlagDoc {
  flag: string;
  arg: string | null;
  default: string | null;
  description: string;
}

const flagDoc = (flag: Flag, command: CommandName | undefined): FlagDoc => {
  const w = flagWords(flag, command);
  return { flag: `--${flag}`, arg: FLAG_HELP[flag].arg ?? null, default: w.default ?? null, description: w.text };
};

const flagRows = (docs: readonly FlagDoc[], flags: readonly Flag[]): [string, string][] =>
  docs.map((d, i) => [spelled(flags[i]!), `${d.description}${d.default === null ? "" : ` (default: ${d.default})`}`]);

/** The codes above 2 that a command's help lists (a decision, or a waited-for promotion's outcome), in order. */
const OUTCOME_CODES = [
  ...new Set(
    Object.values(COMMAND_HELP)
      .flatMap((h) => h.exits.map(([code]) => code))
      .filter((code) => Number(code) > 2),
  ),
].sort((a, b) => Number(a) - Number(b));

/** The overview as data: what `scoregate --help --json` prints. */
export function overviewDoc(): {
  commands: { command: CommandName; description: string }[];
  global_flags: FlagDoc[];
  exit_codes: { code: string; meaning: string }[];
} {
  return {
    commands: (Object.keys(COMMAND_HELP) as CommandName[]).map((command) => ({ command, description: COMMAND_HELP[command].line })),
    global_flags: GLOBAL_FLAGS.map((f) => flagDoc(f, undefined)),
    exit_codes: [
      { code: "0", meaning: "success" },
      ...COMMON_EXITS.map(([code, meaning]) => ({ code, meaning })),
      {
        code: OUTCOME_CODES.join(", "),
        meaning:
          "calibrate and shadow: a decision; promote and promotion, when they wait for a promotion: its outcome (scoregate COMMAND --help says which)",
      },
      { code: INTERRUPTED_EXIT[0], meaning: `${INTERRUPTED_EXIT[1]} (watch ends with 0 instead)` },
    ],
  };
}

/** `scoregate --help`: every command in one line, the global flags, the exit codes, and where to read more. */
export function overview(): string {
  const doc = overviewDoc();
  return [
    "scoregate: calibrate, serve and watch reranker score gates",
    "",
    "Usage: scoregate COMMAND [ARGUMENTS] [FLAGS]",
    "",
    "Commands:",
    ...table(doc.commands.map((c) => [c.command, c.description])),
    "",
    "Global flags (every command takes them):",
    ...table(flagRows(doc.global_flags, GLOBAL_FLAGS)),
    "",
    "Exit codes:",
    ...table(doc.exit_codes.map((e) => [e.code, e.meaning])),
    "",
    "scoregate COMMAND --help (or scoregate help COMMAND) shows a command's flags, defaults, exit codes and examples.",
  ].join("\n");
}

/** One command's help as data: what `scoregate CMD --help --json` prints. */
export function commandDoc(command: CommandName): {
  command: CommandName;
  usage: string[];
  description: string;
  token_scope: string;
  flags: FlagDoc[];
  global_flags: FlagDoc[];
  exit_codes: { code: string; meaning: string }[];
  examples: string[];
} {
  const h = COMMAND_HELP[command];
  // in the order of their codes: the command's own 0 first, its decisions (3 to 5) after the common 1 and 2
  const exits: (readonly [string, string])[] = [...h.exits, ...COMMON_EXITS].sort(([a], [b]) => Number(a) - Number(b));
  if (command !== "watch") exits.push(INTERRUPTED_EXIT);
  return {
    command,
    usage: h.synopsis.map((s) => `scoregate ${command}${s === "" ? "" : ` ${s}`}`),
    description: h.summary,
    token_scope: h.scope,
    flags: COMMAND_FLAGS[command].map((f) => flagDoc(f, command)),
    global_flags: GLOBAL_FLAGS.map((f) => flagDoc(f, command)),
    exit_codes: exits.map(([code, meaning]) => ({ code, meaning })),
    examples: [...h.examples],
  };
}

/** `scoregate CMD --help`. */
export function commandHelp(command: CommandName): string {
  const doc = commandDoc(command);
  const name = `scoregate ${command}`;
  const scope = COMMAND_HELP[command].scope;
  return [
    ...wrap(`${name}: `, COMMAND_HELP[command].line, HELP_WIDTH, name.length + 2),
    "",
    "Usage:",
    ...COMMAND_HELP[command].synopsis.flatMap((s) => wrap(`  ${name}${s === "" ? "" : " "}`, s, HELP_WIDTH, name.length + 3)),
    "",
    ...wrap("", doc.description, HELP_WIDTH, 0),
    `It needs ${aToken(scope)} (SCOREGATE_TOKEN or --token; locally dev-${scope}).`,
    "",
    ...(doc.flags.length > 0 ? ["Flags:", ...table(flagRows(doc.flags, COMMAND_FLAGS[command])), ""] : ["Flags: none but the global ones.", ""]),
    "Global flags:",
    ...table(flagRows(doc.global_flags, GLOBAL_FLAGS)),
    "",
    "Exit codes:",
    ...table(doc.exit_codes.map((e) => [e.code, e.meaning])),
    "",
    "Examples:",
    ...doc.examples.flatMap(shellLines),
  ].join("\n");
}
