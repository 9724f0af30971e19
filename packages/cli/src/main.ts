/**
 * `scoregate`: the command line of scoregate. `run(argv, io)` is the whole CLI (the bin only wires it to the
 * process), so tests run it in-process against a local worker or a stub server.
 */
import { commandName, num, parseArgv, USAGE, usage } from "./args";
import { calibrate } from "./calibrate";
import { type COMMAND_FLAGS, checkCommandFlags } from "./command-flags";
import { activate, alerts, gates, history, threshold } from "./commands";
import { promote, promotion } from "./promote";
import { shadow } from "./shadow";
import { watch } from "./watch";
import type { Ctx, Io } from "./context";
import { EXIT } from "./decision";
import { count } from "./format";
import { aToken, Api, CliError } from "./http";
import { version } from "../package.json";

export type { Io } from "./context";
export { USAGE } from "./args";

/** This package's version, from package.json at build time (the bundler inlines the one field). */
export const VERSION: string = version;

const COMMANDS = { calibrate, threshold, history, activate, alerts, gates, shadow, promote, promotion, watch } satisfies Record<
  keyof typeof COMMAND_FLAGS,
  (c: Ctx) => Promise<number>
>;
const COMMAND_NAMES = Object.keys(COMMANDS) as (keyof typeof COMMANDS)[];

/**
 * --timeout's range: a timer counts whole milliseconds in a signed 32-bit integer, and Node fires one set beyond it
 * after 1 ms (a timeout of 3,000,000 s would give up at once), one set below 1 ms not at all.
 */
export const MIN_TIMEOUT_SECONDS = 0.001;
export const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

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

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const json = argv.includes("--json");
  const out = (s: string): void => void io.stdout.write(`${s}\n`);
  const warn = (s: string): void => void io.stderr.write(`${s}\n`);
  try {
    const { values: v, positionals } = parseArgv(argv);
    if (v.version) {
      out(VERSION);
      return EXIT.ok;
    }
    const [command, ...rest] = positionals;
    if (v.help || command === "help") {
      out(USAGE);
      return EXIT.ok;
    }
    // no command is a usage error: stdout stays empty (or holds the --json error document), the usage goes to stderr
    if (command === undefined) {
      if (json) throw usage(`no command: give one of ${COMMAND_NAMES.join(", ")}`);
      warn(USAGE);
      return EXIT.usage;
    }
    const name = commandName(command, COMMAND_NAMES);
    checkCommandFlags(name, Object.keys(v), rest);
    const fn = COMMANDS[name];
    const timeout = num(
      v.timeout,
      "--timeout",
      (x) => x >= MIN_TIMEOUT_SECONDS && x <= MAX_TIMEOUT_SECONDS,
      `a number of seconds from ${MIN_TIMEOUT_SECONDS} to ${count(MAX_TIMEOUT_SECONDS)}`,
    );
    const api = (): Api => {
      const baseUrl = v.url ?? io.env.SCOREGATE_URL ?? "http://localhost:8787";
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
      const scope = command === "calibrate" ? "calibrate" : ["activate", "promote", "shadow"].includes(command) ? "admin" : "read";
      if (token === undefined || token === "") throw usage(`no token: set SCOREGATE_TOKEN or --token (${aToken(scope)}; locally dev-${scope})`);
      return new Api({
        baseUrl,
        token,
        timeoutMs: Math.round((timeout ?? (command === "calibrate" ? 300 : 30)) * 1000),
        ...(io.fetch ? { fetch: io.fetch } : {}),
      });
    };
    return await fn({ io, v, positionals: rest, api, json, out, warn });
  } catch (e) {
    const err =
      e instanceof CliError
        ? e
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
