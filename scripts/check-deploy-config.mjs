#!/usr/bin/env node
// The deploy guard: refuses to upload while wrangler.toml still holds the placeholder D1 database id or KV namespace
// id (a Worker deployed with them cannot reach its storage), and names the commands that create the real ones.
//
// It runs on every deploy, however started: wrangler.toml's `[build] command` runs it before wrangler bundles, on
// `wrangler deploy`, `wrangler versions upload` and `wrangler dev` alike, and wrangler tells the command which one in
// the WRANGLER_COMMAND environment variable. Local commands (dev, types) pass. A dry run (`--dry-run`) also reports
// WRANGLER_COMMAND=deploy, and wrangler gives a build command nothing else to tell it apart, so a dry run with the
// placeholder ids says so with SCOREGATE_DRY_RUN=1 (`npm run deploy:dry` and the benchmark builds set it); without
// it, it is refused like a deploy, with a message saying how to run it. `npm run deploy` (scripts/deploy.mjs) also runs
// the guard first, with the command line it passes to `wrangler deploy`, so a `--var NAME:VALUE` there is checked in
// place of wrangler.toml's value and a `--dry-run` is a dry run; it hands that command line down to wrangler's run of
// the guard (SCOREGATE_DEPLOY_ARGS). A build command is given no arguments: a plain `npx wrangler deploy --var ...` has
// only wrangler.toml checked.
// It also refuses an OBSERVATION_INGEST var the Worker would refuse at runtime, and queue mode without its producer
// binding and consumer, an ENVIRONMENT that relaxes production rules, and drift variables out of their ranges.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The ids wrangler.toml ships with: valid-looking, but no real database or namespace has them. */
export const PLACEHOLDER_IDS = ["00000000-0000-4000-8000-000000000000", "00000000000000000000000000000000"];

/** wrangler commands that run the build without uploading anything (WRANGLER_COMMAND values). */
export const LOCAL_WRANGLER_COMMANDS = ["dev", "types"];

/** The variable a dry run sets to bundle with the placeholder ids. */
export const DRY_RUN_VARIABLE = "SCOREGATE_DRY_RUN";

/**
 * The `wrangler deploy` command line scripts/deploy.mjs checked, as JSON, in the environment of the wrangler it starts:
 * wrangler runs this guard again as its build command, with no arguments, and the guard reads the command line from
 * here, so a `--var` that replaced a wrangler.toml value is checked the same way both times.
 */
export const DEPLOY_ARGS_VARIABLE = "SCOREGATE_DEPLOY_ARGS";

/**
 * The vars a `wrangler deploy` command line sets, as wrangler reads them: `--var A:1 B:2` (every following argument
 * up to the next option), repeated `--var A:1 --var B:2`, and `--var=A:1`; the value is everything after the first
 * colon (none: empty), a later NAME wins, and nothing after `--` counts. wrangler deploys them over wrangler.toml's
 * [vars], so the guard checks them in their place. Read by hand: node:util parseArgs has no option that takes every
 * following argument (`--var A:1 B:2`), and wrangler's own parser is not importable from here.
 */
export function cliVars(args) {
  const vars = {};
  const set = (pair) => {
    const colon = pair.indexOf(":");
    vars[colon < 0 ? pair : pair.slice(0, colon)] = colon < 0 ? "" : pair.slice(colon + 1);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    if (arg !== "--var" && !arg.startsWith("--var=")) continue;
    if (arg.startsWith("--var=")) set(arg.slice("--var=".length));
    while (i + 1 < args.length && !args[i + 1].startsWith("-")) set(args[++i]);
  }
  return vars;
}

/** Problems with the storage ids of a wrangler.toml text, and its vars with `vars` (cliVars) over them (empty: ready to deploy). */
export function deployConfigProblems(toml, vars = {}) {
  const problems = [];
  const ids = [
    ["database_id", "D1 database", "npx wrangler d1 create scoregate"],
    ["id", "KV namespace", "npx wrangler kv namespace create THRESHOLDS"],
  ];
  for (const [key, what, command] of ids) {
    const values = [...toml.matchAll(new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, "gmu"))].map((m) => m[1]);
    if (values.length === 0) problems.push(`no ${key} for the ${what} in wrangler.toml: run \`${command}\` and put its id there`);
    for (const v of values) {
      if (PLACEHOLDER_IDS.includes(v) || /^[0-]*$/u.test(v)) {
        problems.push(`wrangler.toml still has the placeholder ${what} id ${key} = "${v}": run \`${command}\` and put the printed id there`);
      }
    }
  }
  problems.push(...ingestProblems(toml, vars), ...varProblems(toml, vars));
  return problems;
}

/** A [vars] value of wrangler.toml (undefined when it is not set there). */
const tomlVar = (toml, name) => new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`, "mu").exec(toml)?.[1];

/** The value a var deploys with, `vars` (cliVars) over wrangler.toml, and where it was set (for the messages). */
const deployedVar = (toml, vars, name) =>
  Object.hasOwn(vars, name) ? { value: vars[name], where: "from --var" } : { value: tomlVar(toml, name), where: "in wrangler.toml" };

/**
 * The environments that relax production rules (src/platform/auth.ts isProduction): outside production, a Worker with
 * no tokens configured accepts the documented local tokens dev-read, dev-calibrate and dev-admin, so a deploy with one
 * would give anyone admin access.
 */
export const RELAXED_ENVIRONMENTS = ["development", "test"];

/**
 * The drift variables' ranges, as the Worker checks them at runtime (src/worker/wiring.ts driftConfig, which answers
 * 503 misconfigured on /healthz, /metrics and observation ingest for a value outside them); test/platform/deploy-guard.test.ts
 * holds the two in agreement.
 */
export const DRIFT_VAR_RANGES = {
  DRIFT_ALPHA: { ok: (x) => x > 0 && x < 0.5, range: "above 0 and below 0.5" },
  DRIFT_TOLERANCE: { ok: (x) => x >= 0 && x < 1, range: "at least 0 and below 1" },
};

/** Problems with ENVIRONMENT, the drift variables and PUBLIC_URL of a wrangler.toml text, with `vars` (cliVars) over it (empty: deployable). */
export function varProblems(toml, vars = {}) {
  const problems = [];
  const environment = deployedVar(toml, vars, "ENVIRONMENT");
  if (environment.value !== undefined && RELAXED_ENVIRONMENTS.includes(environment.value)) {
    problems.push(
      `ENVIRONMENT = "${environment.value}" ${environment.where} relaxes production rules (with no tokens set, the local tokens dev-read, dev-calibrate and dev-admin are accepted): a deploy needs ENVIRONMENT = "production" (\`npm start\` sets development for itself)`,
    );
  }
  for (const [name, { ok, range }] of Object.entries(DRIFT_VAR_RANGES)) {
    const { value: raw, where } = deployedVar(toml, vars, name);
    if (raw !== undefined && raw.trim() !== "" && !ok(Number(raw))) {
      problems.push(
        `${name} = "${raw}" ${where} is not a number ${range}: the Worker would answer 503 misconfigured on /healthz, /metrics and observation ingest`,
      );
    }
  }
  const publicUrl = deployedVar(toml, vars, "PUBLIC_URL");
  const problem = publicUrl.value === undefined ? null : publicUrlProblem(publicUrl.value);
  if (problem !== null) {
    problems.push(`PUBLIC_URL = "${publicUrl.value}" ${publicUrl.where} ${problem}: the Worker would answer 503 misconfigured on /healthz`);
  }
  return problems;
}

/**
 * Why a PUBLIC_URL is refused, or null (also when unset): the Worker's own check (src/platform/public-url.ts
 * publicUrlProblem), written again here because this script runs on plain Node before anything is bundled;
 * test/platform/public-url.test.ts holds the two in agreement.
 */
export function publicUrlProblem(raw) {
  const value = raw.trim();
  if (value === "") return null;
  let url;
  try {
    url = new URL(value);
  } catch {
    return "is not an absolute URL such as https://scoregate.example.com";
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname))) {
    return "must start with https:// (http:// only for localhost)";
  }
  if (url.username !== "" || url.password !== "") return "must not hold a user name or password";
  if (url.search !== "" || url.hash !== "" || /[?#]/u.test(value)) return "must not hold a query (?) or fragment (#)";
  if (!/^[A-Za-z0-9._~/-]*$/u.test(url.pathname)) return "may hold only letters, digits and . _ ~ - / in its path";
  return null;
}

/** The values OBSERVATION_INGEST takes (src/monitoring/observation-queue.ts OBSERVATION_INGEST_MODES). */
export const OBSERVATION_INGEST_MODES = ["direct", "queue"];

/** The observation queue commands a deploy needs once, since wrangler.toml declares the queue and its consumer. */
export const QUEUE_CREATE_COMMANDS = ["npx wrangler queues create scoregate-observations", "npx wrangler queues create scoregate-observations-dlq"];

/** Problems with OBSERVATION_INGEST, `vars` (cliVars) over wrangler.toml, and the observation queue's declarations (empty: consistent). */
export function ingestProblems(toml, vars = {}) {
  const problems = [];
  const { value: mode, where } = deployedVar(toml, vars, "OBSERVATION_INGEST");
  if (mode === undefined || mode === "" || mode === "direct") return problems;
  if (!OBSERVATION_INGEST_MODES.includes(mode)) {
    problems.push(`OBSERVATION_INGEST = "${mode}" ${where} is not a mode: use "direct" or "queue"`);
    return problems;
  }
  if (!/^\s*binding\s*=\s*"OBSERVATIONS_QUEUE"/mu.test(toml)) {
    problems.push('OBSERVATION_INGEST = "queue" needs the producer binding OBSERVATIONS_QUEUE under [[queues.producers]] in wrangler.toml');
  }
  if (!/^\s*\[\[queues\.consumers\]\]/mu.test(toml)) {
    problems.push(
      'OBSERVATION_INGEST = "queue" needs a [[queues.consumers]] entry for the observation queue in wrangler.toml (nothing would count the batches)',
    );
  }
  return problems;
}

/**
 * Whether this run must check the ids, from the environment wrangler gives a build command: `{ check: false, reason }`
 * for a local wrangler command or a declared dry run; `{ check: true }` otherwise, including when run directly (no
 * WRANGLER_COMMAND) and for any wrangler command not known to stay local (fail closed).
 */
export function guardMode(env, args = []) {
  const command = env.WRANGLER_COMMAND;
  if (command !== undefined && LOCAL_WRANGLER_COMMANDS.includes(command)) return { check: false, reason: `wrangler ${command} uploads nothing` };
  if (env[DRY_RUN_VARIABLE] === "1") return { check: false, reason: `${DRY_RUN_VARIABLE}=1: a dry run, nothing is uploaded` };
  if (isDryRun(args)) return { check: false, reason: "--dry-run: nothing is uploaded" };
  return { check: true };
}

/**
 * Whether a `wrangler deploy` command line asks for a dry run: `--dry-run` (not followed by `false`, which wrangler's
 * parser reads as its value) or `--dry-run=true`, before any `--`. Anything else is a deploy (fail closed).
 */
export function isDryRun(args) {
  for (let i = 0; i < args.length && args[i] !== "--"; i++) {
    if (args[i] === "--dry-run=true") return true;
    if (args[i] === "--dry-run" && args[i + 1] !== "false") return true;
  }
  return false;
}

/** The command line the guard checks: its own arguments, else the one scripts/deploy.mjs handed down (DEPLOY_ARGS_VARIABLE). */
export function guardArgs(argv, env) {
  if (argv.length > 0 || env[DEPLOY_ARGS_VARIABLE] === undefined) return argv;
  const handed = JSON.parse(env[DEPLOY_ARGS_VARIABLE]);
  return Array.isArray(handed) && handed.every((a) => typeof a === "string") ? handed : argv;
}

/** The wrangler.toml the guard reads: the one next to it (a deploy with `--config other.toml` is not checked against the other). */
export const WRANGLER_TOML = fileURLToPath(new URL("../wrangler.toml", import.meta.url));

/**
 * The guard: checks `path` with the vars of `args` (a `wrangler deploy` command line) over it, unless guardMode(env)
 * says this run uploads nothing; prints the refusal, or the queue reminder, on stderr. Returns the exit code: 1 refused.
 */
export function runGuard(args, env, path = WRANGLER_TOML) {
  const mode = guardMode(env, args);
  if (!mode.check) return 0;
  const toml = readFileSync(path, "utf8");
  const problems = deployConfigProblems(toml, cliVars(args));
  if (problems.length > 0) {
    const hint =
      env.WRANGLER_COMMAND !== undefined
        ? `\n  (this ran as wrangler.toml's [build] command for \`wrangler ${env.WRANGLER_COMMAND}\`; for a dry run that only bundles, use \`npm run deploy:dry\` or set ${DRY_RUN_VARIABLE}=1)`
        : "";
    console.error(`scoregate: not deploying.\n${problems.map((p) => `  - ${p}`).join("\n")}${hint}`);
    return 1;
  }
  if (/^\s*\[\[queues\.producers\]\]/mu.test(toml)) {
    console.error(`scoregate: wrangler.toml declares the observation queue; create it once per account: ${QUEUE_CREATE_COMMANDS.join(" && ")}`);
  }
  return 0;
}

// Run directly: the arguments are a `wrangler deploy` command line (none when wrangler runs it as the build command).
if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = runGuard(guardArgs(process.argv.slice(2), process.env), process.env);
