import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  cliVars,
  DEPLOY_ARGS_VARIABLE,
  DRIFT_VAR_RANGES,
  DRY_RUN_VARIABLE,
  deployConfigProblems,
  guardArgs,
  guardMode,
  ingestProblems,
  isDryRun,
  RELAXED_ENVIRONMENTS,
  varProblems,
} from "../../scripts/check-deploy-config.mjs";
import { isProduction } from "../../src/platform/auth";
import type { Env } from "../../src/platform/env";
import { AppError } from "../../src/platform/errors";
import { driftConfig } from "../../src/worker/wiring";

/** wrangler's own start-up and config reading, before the build command runs; generous for a busy 2-core machine. */
const WRANGLER_RUN_TIMEOUT_MS = 90_000;

/** The guard run as wrangler's [build] command would run it: with `env` over an environment without wrangler's. */
function runGuard(env: Record<string, string>): { status: number | null; stderr: string } {
  const base = { ...process.env };
  delete base.WRANGLER_COMMAND;
  delete base[DRY_RUN_VARIABLE];
  delete base[DEPLOY_ARGS_VARIABLE];
  const r = spawnSync(process.execPath, ["scripts/check-deploy-config.mjs"], { env: { ...base, ...env } as NodeJS.ProcessEnv, encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

/** The environment without wrangler's build-command variables, a declared dry run or any Cloudflare credentials. */
function cleanEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("CLOUDFLARE_") && ![DRY_RUN_VARIABLE, DEPLOY_ARGS_VARIABLE, "WRANGLER_COMMAND"].includes(k)) env[k] = v;
  }
  return { ...env, HOME: home, XDG_CONFIG_HOME: home, CI: "true", WRANGLER_SEND_METRICS: "false" };
}

describe("deploy guard", () => {
  it("refuses the repository's wrangler.toml as shipped (placeholder D1 and KV ids), naming the commands", () => {
    const problems: string[] = deployConfigProblems(readFileSync("wrangler.toml", "utf8"));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("npx wrangler d1 create scoregate");
    expect(problems[1]).toContain("npx wrangler kv namespace create THRESHOLDS");
  });

  it("accepts real ids", () => {
    const toml = readFileSync("wrangler.toml", "utf8")
      .replace("00000000-0000-4000-8000-000000000000", "9f3c2a4e-1b7d-4c8e-a2f0-5d6e7f8a9b0c")
      .replace('id = "00000000000000000000000000000000"', 'id = "3b5f8e2a9c4d4e1fa7b6c5d4e3f2a1b0"');
    expect(deployConfigProblems(toml)).toEqual([]);
  });

  it("exits non-zero before wrangler is ever called (npm run deploy)", () => {
    let status = 0;
    try {
      execFileSync(process.execPath, ["scripts/check-deploy-config.mjs"], { stdio: "pipe" });
    } catch (e) {
      status = (e as { status: number }).status;
    }
    expect(status).toBe(1);
    // scripts/deploy.mjs runs the guard first; nothing after it (asset copy, upload) runs when it fails.
    expect(JSON.parse(readFileSync("package.json", "utf8")).scripts.deploy).toBe("node scripts/deploy.mjs");
    const home = mkdtempSync(join(tmpdir(), "scoregate-deploy-guard-"));
    try {
      const r = spawnSync(process.execPath, ["scripts/deploy.mjs"], { env: cleanEnv(home) as NodeJS.ProcessEnv, encoding: "utf8" });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^scoregate: not deploying\.\n {2}- wrangler\.toml still has the placeholder D1 database id/u);
      expect(r.stdout).toBe("");
      expect(r.stderr).not.toMatch(/⛅️|\[custom build\]/u);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it.each([
    [["--var", "A:1", "B:2"], { A: "1", B: "2" }],
    [["--var", "A:1", "--var", "B:2"], { A: "1", B: "2" }],
    [["--var=A:1", "B:2"], { A: "1", B: "2" }],
    [["--var", "URL:https://x:8"], { URL: "https://x:8" }],
    [["--var", "EMPTY", "NONE:"], { EMPTY: "", NONE: "" }],
    [["--var", "A:1", "--var", "A:2"], { A: "2" }],
    [["--dry-run", "--var", "A:1", "--outdir", "dist", "--keep-vars"], { A: "1" }],
    [["--variables", "A:1", "--", "--var", "B:2"], {}],
    [[], {}],
  ])("cliVars(%j) is %j, as wrangler reads --var", (args, vars) => {
    expect(cliVars(args)).toEqual(vars);
  });

  it("checks --var values in place of wrangler.toml's, as wrangler deploys them", () => {
    const toml = readFileSync("wrangler.toml", "utf8");
    expect(varProblems(toml, cliVars(["--var", "ENVIRONMENT:development"]))).toEqual([
      expect.stringContaining('ENVIRONMENT = "development" from --var relaxes production rules'),
    ]);
    expect(varProblems(toml, cliVars(["--var", "DRIFT_ALPHA:0.9", "DRIFT_TOLERANCE:1"]))).toEqual([
      expect.stringContaining('DRIFT_ALPHA = "0.9" from --var is not a number above 0 and below 0.5'),
      expect.stringContaining('DRIFT_TOLERANCE = "1" from --var is not a number at least 0 and below 1'),
    ]);
    expect(ingestProblems(toml, cliVars(["--var=OBSERVATION_INGEST:queued"]))).toEqual([
      expect.stringContaining('OBSERVATION_INGEST = "queued" from --var is not a mode'),
    ]);
    // a --var wins over wrangler.toml either way: a valid one replaces an invalid value
    const relaxed = toml.replace('ENVIRONMENT = "production"', 'ENVIRONMENT = "development"');
    expect(varProblems(relaxed)).toHaveLength(1);
    expect(varProblems(relaxed, cliVars(["--var", "ENVIRONMENT:production", "DRIFT_ALPHA:0.01", "OBSERVATION_INGEST:queue"]))).toEqual([]);
    expect(deployConfigProblems(toml, cliVars(["--var", "ENVIRONMENT:test"]))).toHaveLength(3);
  });

  it("npm run deploy -- --var ...: the guard sees the --var values and refuses them, before wrangler", () => {
    const home = mkdtempSync(join(tmpdir(), "scoregate-deploy-guard-"));
    try {
      const r = spawnSync("npm", ["run", "--silent", "deploy", "--", "--var", "ENVIRONMENT:development", "--var", "DRIFT_ALPHA:0.9"], {
        env: cleanEnv(home) as NodeJS.ProcessEnv,
        encoding: "utf8",
      });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('ENVIRONMENT = "development" from --var relaxes production rules');
      expect(r.stderr).toContain('DRIFT_ALPHA = "0.9" from --var is not a number');
      expect(`${r.stdout}${r.stderr}`).not.toContain("[custom build]");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it(
    "scripts/deploy.mjs hands its arguments to wrangler deploy and exits with wrangler's code",
    () => {
      const home = mkdtempSync(join(tmpdir(), "scoregate-deploy-guard-"));
      try {
        // --dry-run, with the placeholder ids: both guards (deploy.mjs's, then wrangler's build command, which reads the
        // command line deploy.mjs hands down) pass it, and wrangler bundles into the --outdir it was given, nothing uploaded
        const env = cleanEnv(home) as NodeJS.ProcessEnv;
        const outdir = join(home, "out");
        const ok = spawnSync(process.execPath, ["scripts/deploy.mjs", "--dry-run", "--outdir", outdir, "--var", "DRIFT_ALPHA:0.01"], {
          env,
          encoding: "utf8",
          timeout: WRANGLER_RUN_TIMEOUT_MS,
        });
        expect(ok.status, `${ok.stdout}${ok.stderr}`).toBe(0);
        expect(existsSync(join(outdir, "index.js"))).toBe(true);
        expect(ok.stdout).toContain("env.DRIFT_ALPHA");
        // an option wrangler refuses: its own non-zero exit is deploy.mjs's
        const refused = spawnSync(process.execPath, ["scripts/deploy.mjs", "--dry-run", "--scoregate-unknown-option"], {
          env,
          encoding: "utf8",
          timeout: WRANGLER_RUN_TIMEOUT_MS,
        });
        expect(refused.status).toBe(1);
        expect(`${refused.stdout}${refused.stderr}`).toContain("scoregate-unknown-option");
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
    2 * WRANGLER_RUN_TIMEOUT_MS + 10_000,
  );

  it("checks OBSERVATION_INGEST: direct (as shipped) passes, queue needs its producer and consumer, a typo is refused", () => {
    const toml = readFileSync("wrangler.toml", "utf8");
    expect(ingestProblems(toml)).toEqual([]);
    const queue = toml.replace('OBSERVATION_INGEST = "direct"', 'OBSERVATION_INGEST = "queue"');
    expect(ingestProblems(queue)).toEqual([]);
    const typo: string[] = ingestProblems(toml.replace('OBSERVATION_INGEST = "direct"', 'OBSERVATION_INGEST = "queued"'));
    expect(typo).toEqual([expect.stringContaining('OBSERVATION_INGEST = "queued" in wrangler.toml is not a mode')]);
    // queue mode with the [[queues.producers]] and [[queues.consumers]] sections cut out
    const withoutQueues = queue.replace(/^\[\[queues\.producers\]\][\s\S]*?(?=^\[\[migrations\]\])/mu, "");
    const problems: string[] = ingestProblems(withoutQueues);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("OBSERVATIONS_QUEUE");
    expect(problems[1]).toContain("[[queues.consumers]]");
  });

  it("refuses an ENVIRONMENT that relaxes production rules (the local tokens would be accepted), as the Worker reads it", () => {
    const toml = readFileSync("wrangler.toml", "utf8");
    expect(varProblems(toml)).toEqual([]);
    for (const environment of RELAXED_ENVIRONMENTS) {
      expect(isProduction(environment)).toBe(false);
      const problems: string[] = varProblems(toml.replace('ENVIRONMENT = "production"', `ENVIRONMENT = "${environment}"`));
      expect(problems).toEqual([expect.stringContaining(`ENVIRONMENT = "${environment}" in wrangler.toml relaxes production rules`)]);
      expect(problems[0]).toContain("dev-admin");
    }
    // every other value is production to the Worker, and passes
    for (const environment of ["production", "staging", "prod"]) {
      expect(isProduction(environment)).toBe(true);
      expect(varProblems(toml.replace('ENVIRONMENT = "production"', `ENVIRONMENT = "${environment}"`))).toEqual([]);
    }
  });

  it("refuses drift variables the Worker would refuse at runtime, and only those", () => {
    const toml = readFileSync("wrangler.toml", "utf8");
    const runtimeRefuses = (name: string, raw: string) => {
      try {
        driftConfig({ [name]: raw } as unknown as Env);
        return false;
      } catch (e) {
        expect(e).toBeInstanceOf(AppError);
        return true;
      }
    };
    for (const name of Object.keys(DRIFT_VAR_RANGES)) {
      for (const raw of ["0", "0.001", "0.02", "0.4999", "0.5", "0.7", "1", "2", "-0.1", "x", " "]) {
        const problems: string[] = varProblems(`${toml}\n${name} = "${raw}"\n`);
        expect(problems.length > 0, `${name} = "${raw}"`).toBe(runtimeRefuses(name, raw));
        if (problems.length > 0) expect(problems[0]).toContain(`${name} = "${raw}" in wrangler.toml is not a number`);
      }
    }
  });

  it.each([
    [{}, true],
    [{ WRANGLER_COMMAND: "deploy" }, true],
    [{ WRANGLER_COMMAND: "versions upload" }, true],
    [{ WRANGLER_COMMAND: "some future command" }, true],
    [{ WRANGLER_COMMAND: "dev" }, false],
    [{ WRANGLER_COMMAND: "types" }, false],
    [{ WRANGLER_COMMAND: "deploy", [DRY_RUN_VARIABLE]: "1" }, false],
    [{ WRANGLER_COMMAND: "deploy", [DRY_RUN_VARIABLE]: "true" }, true],
    [{ WRANGLER_COMMAND: "deploy", [DRY_RUN_VARIABLE]: "" }, true],
  ])("guardMode(%j).check is %s", (env, check) => {
    expect(guardMode(env).check).toBe(check);
  });

  it("as wrangler's [build] command: refuses deploy and versions upload, passes dev and a declared dry run", () => {
    for (const command of ["deploy", "versions upload"]) {
      const r = runGuard({ WRANGLER_COMMAND: command });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("scoregate: not deploying.");
      expect(r.stderr).toContain(`for \`wrangler ${command}\``);
      expect(r.stderr).toContain("npm run deploy:dry");
    }
    expect(runGuard({ WRANGLER_COMMAND: "dev" }).status).toBe(0);
    expect(runGuard({ WRANGLER_COMMAND: "deploy", [DRY_RUN_VARIABLE]: "1" }).status).toBe(0);
  });

  it("as the build command of the wrangler scripts/deploy.mjs starts: checks the command line handed down, --var and --dry-run included", () => {
    // a --var the command line set is checked in place of wrangler.toml's value the second time too
    const relaxed = runGuard({ WRANGLER_COMMAND: "deploy", [DEPLOY_ARGS_VARIABLE]: JSON.stringify(["--var", "ENVIRONMENT:development"]) });
    expect(relaxed.status).toBe(1);
    expect(relaxed.stderr).toContain('ENVIRONMENT = "development" from --var relaxes production rules');
    // a dry run uploads nothing, placeholder ids or not
    expect(runGuard({ WRANGLER_COMMAND: "deploy", [DEPLOY_ARGS_VARIABLE]: JSON.stringify(["--dry-run", "--outdir", "x"]) }).status).toBe(0);
    // without it, the build command has only wrangler.toml: refused for the placeholder ids
    expect(runGuard({ WRANGLER_COMMAND: "deploy" }).status).toBe(1);
  });

  it("reads a dry run from the command line as wrangler does, and anything else as a deploy", () => {
    expect(isDryRun(["--dry-run"])).toBe(true);
    expect(isDryRun(["--var", "A:1", "--dry-run", "--outdir", "x"])).toBe(true);
    expect(isDryRun(["--dry-run=true"])).toBe(true);
    expect(isDryRun(["--dry-run", "false"])).toBe(false);
    expect(isDryRun(["--dry-run=false"])).toBe(false);
    expect(isDryRun(["--", "--dry-run"])).toBe(false);
    expect(isDryRun([])).toBe(false);
    expect(guardMode({}, ["--dry-run"]).check).toBe(false);
    expect(guardMode({ WRANGLER_COMMAND: "deploy" }, ["--dry-run", "false"]).check).toBe(true);
    // the guard's own arguments win; a handed-down line that is not a list of strings is ignored
    expect(guardArgs(["--var", "A:1"], { [DEPLOY_ARGS_VARIABLE]: '["--dry-run"]' })).toEqual(["--var", "A:1"]);
    expect(guardArgs([], { [DEPLOY_ARGS_VARIABLE]: '["--dry-run"]' })).toEqual(["--dry-run"]);
    expect(guardArgs([], { [DEPLOY_ARGS_VARIABLE]: '{"a":1}' })).toEqual([]);
    expect(guardArgs([], {})).toEqual([]);
  });

  it("is wrangler.toml's [build] command, and npm run deploy:dry declares its dry run", () => {
    const toml = readFileSync("wrangler.toml", "utf8");
    expect(toml).toMatch(/^\[build\]\ncommand = "node scripts\/check-deploy-config\.mjs"$/mu);
    expect(JSON.parse(readFileSync("package.json", "utf8")).scripts["deploy:dry"]).toContain(`${DRY_RUN_VARIABLE}=1 wrangler deploy --dry-run`);
  });

  it(
    "stops a plain `wrangler deploy` before wrangler authenticates or uploads",
    () => {
      // No credentials can be found (a fresh HOME, no CLOUDFLARE_* variables), so even a broken guard could not upload.
      const home = mkdtempSync(join(tmpdir(), "scoregate-deploy-guard-"));
      try {
        const env = cleanEnv(home);
        // wrangler's own bin, the one `npx wrangler` resolves to, without npm's start-up around it
        const r = spawnSync(process.execPath, ["node_modules/wrangler/bin/wrangler.js", "deploy"], {
          env: env as NodeJS.ProcessEnv,
          encoding: "utf8",
          timeout: WRANGLER_RUN_TIMEOUT_MS,
        });
        const output = `${r.stdout}${r.stderr}`;
        expect(r.status).not.toBe(0);
        expect(output).toContain("[custom build] scoregate: not deploying.");
        expect(output).toContain("placeholder D1 database id");
        expect(output).not.toMatch(/Uploaded|Total Upload/u);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
    WRANGLER_RUN_TIMEOUT_MS + 10_000,
  );
});
