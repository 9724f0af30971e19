/**
 * `scoregate`: the command line of scoregate. `run(argv, io)` is the whole CLI (the bin only wires it to the
 * process), so tests run it in-process against a local worker or a stub server.
 */

import { API_VERSION } from "../../../src/contract";
import { version } from "../package.json";
import { type CommandFlags, commandName, durationFlag, HELP_HINT, parseArgv, peekCommand, usage } from "./args";
import { calibrate } from "./calibrate";
import { COMMAND_FLAGS, type CommandName, checkCommandFlags, GLOBAL_FLAGS } from "./command-flags";
import { COMMAND_HELP } from "./command-help";
import { activate, alerts, gates, history, threshold } from "./commands";
import type { Ctx, Io } from "./context";
import { EXIT } from "./decision";
import { count } from "./format";
import { commandDoc, commandHelp, overview, overviewDoc } from "./help";
import { Api, aToken, CliError } from "./http";
import { monitor } from "./monitor";
import { promote, promotion } from "./promote";
import { shadow } from "./shadow";
import { defaultTimeoutSeconds, MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS } from "./timeouts";
import { watch } from "./watch";

export type { Io } from "./context";
export { CALIBRATE_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS } from "./timeouts";

/** `scoregate --help`: the overview (also printed to stderr when no command is given). */
export const USAGE: string = overview();

/** This package's version, from package.json at build time (the bundler inlines the one field). */
export const VERSION: string = version;

const COMMANDS = { calibrate, threshold, history, activate, alerts, monitor, gates, shadow, promote, promotion, watch } satisfies Record<
  keyof typeof COMMAND_FLAGS,
  (c: Ctx) => Promise<number>
>;
const COMMAND_NAMES = Object.keys(COMMANDS) as (keyof typeof COMMANDS)[];

/**
 * The --json error document: the server's code at the top level when the server refused, else the CLI's own
 * (CLI_ERROR_CODES); docs/clients.md ("Errors in --json") has the shape.
 */
export function errorDocument(err: CliError): {
  error: { code: string; message: string; source: "server" | "cli"; status?: number; details?: unknown; hints: readonly string[] };
  exit_code: number;
} {
  const fromServer = err.server !== undefined && err.server.code !== null;
  return {
    error: {
      code: err.code,
      message: fromServer ? err.server!.message : err.message,
      source: fromServer ? "server" : "cli",
      ...(err.server ? { status: err.server.status } : {}),
      ...(err.server?.details !== undefined ? { details: err.server.details } : {}),
      hints: err.hints,
    },
    exit_code: err.exitCode,
  };
}

/** A usage error of a known command points at that command's help rather than the overview. */
function commandHint(err: CliError, command: CommandName | undefined): CliError {
  if (command === undefined || err.hints.at(-1) !== HELP_HINT) return err;
  return new CliError(
    err.message,
    err.exitCode,
    err.code,
    [...err.hints.slice(0, -1), `scoregate ${command} --help shows its flags and examples`],
    err.server,
  );
}

/** What parseArgv checks the flags of a known command against (`help`: CMD --help prints beside any flag). */
function commandFlags(command: CommandName, help: boolean): CommandFlags {
  const takes = [...GLOBAL_FLAGS, ...COMMAND_FLAGS[command]];
  return help ? { takes } : { takes, refuse: (flag) => checkCommandFlags(command, [flag], []) };
}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const json = argv.includes("--json");
  const out = (s: string): void => void io.stdout.write(`${s}\n`);
  const warn = (s: string): void => void io.stderr.write(`${s}\n`);
  // the command, once known: a usage error's hint then points at its own help. It is read before the flags are
  // checked, so a mistyped, repeated or valueless flag of a known command already points there, and "did you mean"
  // offers only the flags that command reads.
  let named: CommandName | undefined;
  try {
    const peeked = peekCommand(argv);
    if (peeked.command !== undefined && (COMMAND_NAMES as readonly string[]).includes(peeked.command)) named = peeked.command as CommandName;
    const { values: v, positionals } = parseArgv(argv, named === undefined ? undefined : commandFlags(named, peeked.help));
    if (v.version) {
      // --json: one JSON document, as every other answer under it
      out(v.json ? JSON.stringify({ version: VERSION, api_version: API_VERSION }) : VERSION);
      return EXIT.ok;
    }
    const [command, ...rest] = positionals;
    if (v.help || command === "help") {
      // `scoregate CMD --help`, `scoregate help CMD`: one command's help (an unknown one exits 2 with the closest name);
      // with --json the help is a JSON document like every other --json output
      if (command === "help" && rest.length > 1)
        throw usage(`help takes one command, got ${rest.map((r) => JSON.stringify(r)).join(" ")}`, `scoregate help ${rest[0]} shows its help`);
      const topic = command === "help" ? rest[0] : command;
      if (topic === undefined || topic === "help") {
        out(json ? JSON.stringify(overviewDoc()) : USAGE);
        return EXIT.ok;
      }
      const name = commandName(topic, COMMAND_NAMES);
      out(json ? JSON.stringify(commandDoc(name)) : commandHelp(name));
      return EXIT.ok;
    }
    // no command is a usage error: stdout stays empty (or holds the --json error document), the usage goes to stderr
    if (command === undefined) {
      // `scoregate --index threshold ...`: the flag took the command as its value
      const took = Object.entries(v).find(([, x]) => typeof x === "string" && (COMMAND_NAMES as readonly string[]).includes(x));
      if (took !== undefined)
        throw usage(
          `no command: --${took[0]} took ${JSON.stringify(took[1])} as its value`,
          `the command goes first, then its flags: scoregate ${String(took[1])} --${took[0]} VALUE ...`,
        );
      if (json) throw usage(`no command: give one of ${COMMAND_NAMES.join(", ")}`);
      warn(USAGE);
      return EXIT.usage;
    }
    const name = commandName(command, COMMAND_NAMES);
    named = name;
    checkCommandFlags(name, Object.keys(v), rest);
    const fn = COMMANDS[name];
    const timeout = durationFlag(
      v.timeout,
      "--timeout",
      (x) => x >= MIN_TIMEOUT_SECONDS && x <= MAX_TIMEOUT_SECONDS,
      `a number of seconds from ${MIN_TIMEOUT_SECONDS} to ${count(MAX_TIMEOUT_SECONDS)}`,
    );
    const api = (): Api => {
      // SCOREGATE_URL= (set but empty, as a template or a CI variable leaves it) means unset, as --help's default says
      const envUrl = io.env.SCOREGATE_URL?.trim() === "" ? undefined : io.env.SCOREGATE_URL;
      // trimmed, as URL parsing trims it (a value pasted with a space, or read from a file with its newline): the
      // requests are built on this string
      const baseUrl = (v.url ?? envUrl ?? "http://localhost:8787").trim();
      // "localhost:8787" parses as a URL whose scheme is "localhost:": only http and https reach a server
      const parsed = URL.canParse(baseUrl) ? new URL(baseUrl) : null;
      if (parsed === null || !/^https?:$/u.test(parsed.protocol))
        throw usage(`${JSON.stringify(baseUrl)} is not an http(s) URL: set --url or SCOREGATE_URL to the server, e.g. http://localhost:8787`);
      // every path the CLI asks for starts with /v1: a URL that ends with it would ask for /v1/v1/...
      if (/\/v1\/*$/u.test(parsed.pathname))
        throw usage(
          `${JSON.stringify(baseUrl)} ends with /v1: give the server's base URL without it, e.g. ${JSON.stringify(baseUrl.replace(/\/v1\/*$/u, ""))}`,
        );
      const token = v.token ?? io.env.SCOREGATE_TOKEN;
      const scope = COMMAND_HELP[name].scope;
      if (token === undefined || token === "") throw usage(`no token: set SCOREGATE_TOKEN or --token (${aToken(scope)}; locally dev-${scope})`);
      return new Api({
        baseUrl,
        token,
        timeoutMs: Math.round((timeout ?? defaultTimeoutSeconds(name)) * 1000),
        ...(io.fetch ? { fetch: io.fetch } : {}),
      });
    };
    return await fn({ io, v, positionals: rest, api, json, out, warn });
  } catch (e) {
    const err =
      e instanceof CliError
        ? commandHint(e, named)
        : new CliError(`unexpected failure: ${(e as Error)?.stack ?? String(e)}`, EXIT.failure, "cli_bug", [
            "this is a bug in the CLI: please report it",
          ]);
    if (json) out(JSON.stringify(errorDocument(err)));
    else {
      warn(`scoregate: ${err.message}`);
      for (const h of err.hints) warn(`  ${h}`);
    }
    return err.exitCode;
  }
}
