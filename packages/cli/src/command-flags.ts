/**
 * Which flags each command reads. A flag the command does not read would be silently ignored (`scoregate threshold
 * --target 0.3` prints the served threshold, not one at 0.3), so it is refused with the command(s) it belongs to.
 */
import { type OPTIONS, usage } from "./args";

type Flag = keyof typeof OPTIONS;

/** Read by every command (or before any runs). */
export const GLOBAL_FLAGS = ["url", "token", "json", "timeout", "help", "version"] as const satisfies readonly Flag[];

const GATE = ["index", "embedding", "reranker"] as const satisfies readonly Flag[];
const PAGE = ["limit", "cursor"] as const satisfies readonly Flag[];

/** A promote flag that overrides the open promotion, against those that plan a new one. */
export const PROMOTE_OVERRIDES = ["pause", "resume", "advance", "rollback"] as const satisfies readonly Flag[];
const PROMOTE_PLAN = ["steps", "straight", "min-queries", "on-regression", "max-step-hours", "tolerance"] as const satisfies readonly Flag[];

export const COMMAND_FLAGS = {
  calibrate: [
    ...GATE,
    "index-version",
    "target",
    "carry",
    "recall",
    "coverage",
    "reference",
    "min-keep",
    "max-keep",
    "abstain-rate",
    "abstain-carry",
    "abstain-alpha",
    "label-column",
    "relevant-at",
    "answerable-column",
    "format",
    "delimiter",
    "score-column",
    "query-column",
    "no-query-column",
    "score-scale",
    "shift-tolerance",
    "dry-run",
    "strict",
    "idempotency-key",
    "float32",
    "no-progress",
  ],
  threshold: [...GATE, "index-version"],
  history: [...GATE, ...PAGE],
  activate: ["reason", "dry-run"],
  alerts: [...GATE, "kind", "status", ...PAGE],
  monitor: [...GATE],
  gates: [],
  shadow: ["sample-rate", "remove", "reason"],
  promote: [...PROMOTE_PLAN, ...PROMOTE_OVERRIDES, "reason", "idempotency-key", "wait"],
  promotion: ["wait"],
  watch: [...GATE, "gate", "since"],
} as const satisfies Record<string, readonly Flag[]>;

export type CommandName = keyof typeof COMMAND_FLAGS;

/** The commands that take no positional argument (the others check theirs: one file or one id). */
const NO_ARGUMENTS: readonly CommandName[] = ["threshold", "history", "alerts", "monitor", "gates"];

const dashed = (names: readonly string[]): string => names.map((n) => `--${n}`).join(", ");

/**
 * A usage error for the first flag `command` does not read, naming the commands that do; and for a positional
 * argument given to a command that takes none.
 */
export function checkCommandFlags(command: CommandName, given: readonly string[], positionals: readonly string[]): void {
  const takes: readonly string[] = COMMAND_FLAGS[command];
  for (const name of given) {
    if ((GLOBAL_FLAGS as readonly string[]).includes(name) || takes.includes(name)) continue;
    const owners = (Object.keys(COMMAND_FLAGS) as CommandName[]).filter((k) => (COMMAND_FLAGS[k] as readonly string[]).includes(name));
    throw usage(
      `${command} does not take --${name}${owners.length > 0 ? ` (it is a flag of ${owners.join(", ")})` : ""}`,
      takes.length > 0 ? `${command} takes ${dashed(takes)} and the global flags` : `${command} takes only the global flags`,
    );
  }
  if (promoteMixesPlanAndOverride(command, given)) {
    const plan = given.filter((g) => (PROMOTE_PLAN as readonly string[]).includes(g));
    const override = given.find((g) => (PROMOTE_OVERRIDES as readonly string[]).includes(g));
    throw usage(
      `--${override} changes the open promotion and takes no plan: ${dashed(plan)} ${plan.length > 1 ? "plan" : "plans"} a new one`,
      "scoregate promote ID [--steps ...] starts a promotion; scoregate promote ID --pause|--resume|--advance|--rollback [--reason TEXT] overrides the open one",
    );
  }
  if (NO_ARGUMENTS.includes(command) && positionals.length > 0)
    throw usage(
      `${command} takes no arguments, got ${positionals.map((p) => JSON.stringify(p)).join(" ")}`,
      command === "gates" ? "scoregate gates lists every gate" : "name the gate with --embedding and --reranker (and --index)",
    );
}

function promoteMixesPlanAndOverride(command: CommandName, given: readonly string[]): boolean {
  return (
    command === "promote" &&
    given.some((g) => (PROMOTE_OVERRIDES as readonly string[]).includes(g)) &&
    given.some((g) => (PROMOTE_PLAN as readonly string[]).includes(g))
  );
}
