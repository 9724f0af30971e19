/**
 * Per-command help: `scoregate CMD --help` lists exactly the flags the flag check lets CMD take (COMMAND_FLAGS), with
 * their defaults, exit codes and examples; `scoregate --help` is the overview. No server is involved: help is printed
 * before anything is sent (the URL is unreachable, so a command that ran instead would exit 1).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OPTIONS } from "../src/args";
import { COMMAND_FLAGS, type CommandName, GLOBAL_FLAGS } from "../src/command-flags";
import { COMMAND_HELP } from "../src/command-help";
import { FLAG_HELP } from "../src/flag-help";
import { HELP_WIDTH } from "../src/help";
import { CALIBRATE_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS } from "../src/main";
import { cli } from "./support/run";

const env = { SCOREGATE_URL: "http://127.0.0.1:1", SCOREGATE_TOKEN: "t" };
const COMMANDS = Object.keys(COMMAND_FLAGS) as CommandName[];

/** Every `--flag` a text names (`-h, --help` counts as --help). */
const flagsNamed = (text: string): Set<string> => new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/gu)].map((m) => m[1]!));

/** The lines of one section ("Flags:", "Exit codes:") up to the blank line that ends it. */
function section(text: string, title: string): string[] {
  const lines = text.split("\n");
  const start = lines.indexOf(title);
  if (start < 0) return [];
  const end = lines.indexOf("", start);
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

describe("scoregate CMD --help", () => {
  it.each(COMMANDS)("%s: names every flag COMMAND_FLAGS gives it, and no flag of another command", async (command) => {
    const r = await cli([command, "--help"], env);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const allowed = new Set<string>([...COMMAND_FLAGS[command], ...GLOBAL_FLAGS]);
    const named = flagsNamed(r.stdout);
    expect([...named].filter((f) => !allowed.has(f))).toEqual([]);
    // each of its flags starts a row of the Flags section, with its value's placeholder
    const rows = section(r.stdout, "Flags:").filter((l) => l.startsWith("  --"));
    expect(rows.map((l) => l.trim().split(/\s+/u)[0])).toEqual(COMMAND_FLAGS[command].map((f) => `--${f}`));
    for (const f of COMMAND_FLAGS[command]) {
      const arg = FLAG_HELP[f].arg;
      if (arg !== undefined) expect(rows.find((l) => l.startsWith(`  --${f} `))).toContain(`--${f} ${arg} `);
    }
    // and the global flags follow
    expect(
      section(r.stdout, "Global flags:")
        .map((l) => /^ {2}(?:-h, )?--([a-z-]+)/u.exec(l)?.[1])
        .filter(Boolean),
    ).toEqual([...GLOBAL_FLAGS]);
  });

  it.each(COMMANDS)("%s: synopsis, token, exit codes and examples; no line wider than the help's width", async (command) => {
    const r = await cli([command, "--help"], env);
    const h = COMMAND_HELP[command];
    expect(r.stdout.startsWith(`scoregate ${command}: `)).toBe(true);
    expect(r.stdout).toContain(`\nUsage:\n  scoregate ${command}`);
    expect(r.stdout).toContain(`It needs a${h.scope === "admin" ? "n" : ""} ${h.scope} token`);
    const exits = section(r.stdout, "Exit codes:").map((l) => l.trim().split(/\s{2,}/u)[0]);
    expect(exits).toEqual(expect.arrayContaining(["0", "1", "2", ...h.exits.map(([code]) => code)]));
    expect(exits.includes("130, 143")).toBe(command !== "watch");
    const examples = section(r.stdout, "Examples:");
    expect(examples.filter((l) => l.startsWith(`  scoregate ${command}`))).toHaveLength(h.examples.length);
    for (const line of r.stdout.split("\n")) expect([line, line.length <= HELP_WIDTH]).toEqual([line, true]);
  });

  it("each command's usage names every flag it takes (calibrate's long list stands behind [flags])", () => {
    for (const command of COMMANDS) {
      const usage = COMMAND_HELP[command].synopsis.join(" ");
      if (usage.includes("[flags]")) continue;
      const flags: readonly string[] = COMMAND_FLAGS[command];
      expect([command, flags.filter((f) => !usage.includes(`--${f}`))]).toEqual([command, []]);
    }
  });

  it("an example broken over lines ends each broken line with a backslash, so it pastes as one command", async () => {
    const r = await cli(["calibrate", "--help"], env);
    const examples = section(r.stdout, "Examples:");
    expect(examples.length).toBeGreaterThan(COMMAND_HELP.calibrate.examples.length);
    for (const [i, line] of examples.entries()) {
      const continued = examples[i + 1]?.startsWith("    ") === true;
      expect([line, line.endsWith(" \\")]).toEqual([line, continued]);
    }
  });

  it("the defaults are shown, the timeout the one the command uses", async () => {
    // the help's words with its line breaks undone
    const words = async (command: string): Promise<string> => (await cli([command, "--help"], env)).stdout.replace(/\s+/gu, " ");
    const calibrate = await words("calibrate");
    for (const d of [
      `--timeout SECONDS per request (default: ${CALIBRATE_TIMEOUT_SECONDS})`,
      '--index I the gate\'s collection (default: "default")',
      "(0.02 = 2 points) (default: 0.02)",
      "--score-scale S probability | logit | unbounded (default: unbounded)",
    ])
      expect(calibrate).toContain(d);
    expect(await words("threshold")).toContain(`--timeout SECONDS per request (default: ${DEFAULT_TIMEOUT_SECONDS})`);
    const promote = await words("promote");
    for (const d of ["ending with 100 (default: 10,50,100)", "(200 to 10,000,000) (default: 2,000)", "regresses (default: rollback)"])
      expect(promote).toContain(d);
    // a filter has no default: alerts without --index lists every collection's
    const alerts = (await cli(["alerts", "--help"], env)).stdout;
    expect(alerts.split("\n").find((l) => l.startsWith("  --index I"))).not.toContain("default");
  });

  it("scoregate help CMD, scoregate CMD -h and scoregate --help CMD print the same, even beside a flag CMD does not take", async () => {
    const base = await cli(["watch", "--help"], env);
    for (const argv of [
      ["help", "watch"],
      ["watch", "-h"],
      ["--help", "watch"],
      ["watch", "--target", "0.2", "--help"],
    ]) {
      const r = await cli(argv, env);
      expect([argv, r.code, r.stdout, r.stderr]).toEqual([argv, 0, base.stdout, ""]);
    }
  });

  it("an unknown command's help exits 2 with the closest command, on stderr (--json: the error document)", async () => {
    for (const argv of [
      ["thresold", "--help"],
      ["help", "thresold"],
    ]) {
      const r = await cli(argv, env);
      expect([argv, r.code, r.stdout, r.stderr.split("\n")[0]]).toEqual([
        argv,
        2,
        "",
        'scoregate: unknown command "thresold": did you mean threshold?',
      ]);
    }
    const json = await cli(["help", "promot", "--json"], env);
    expect([json.code, json.stderr]).toEqual([2, ""]);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: "usage", message: 'unknown command "promot": did you mean promote?' });
    const two = await cli(["help", "gates", "alerts"], env);
    expect([two.code, two.stderr.split("\n")[0]]).toEqual([2, 'scoregate: help takes one command, got "gates" "alerts"']);
  });

  it("with --json, a command's help is one JSON document with the same flags", async () => {
    const r = await cli(["shadow", "--help", "--json"], env);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      command: "shadow",
      token_scope: "admin",
      usage: ["scoregate shadow ID [--sample-rate R] [--reason TEXT]", expect.any(String)],
    });
    expect(doc.flags.map((f: { flag: string }) => f.flag)).toEqual(COMMAND_FLAGS.shadow.map((f) => `--${f}`));
    expect(doc.flags[0]).toEqual({ flag: "--sample-rate", arg: "R", default: "the server's 0.1", description: expect.any(String) });
    expect(doc.exit_codes.map((e: { code: string }) => e.code)).toEqual(["0", "1", "2", "3", "4", "130, 143"]);
  });
});

describe("scoregate --help", () => {
  it("is the overview: every command in one line, the global flags, and where a command's help is", async () => {
    const r = await cli(["--help"], env);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const commands = section(r.stdout, "Commands:").filter((l) => /^ {2}\S/u.test(l));
    expect(commands.map((l) => l.trim().split(/\s+/u)[0])).toEqual(COMMANDS);
    expect([...flagsNamed(r.stdout)].sort()).toEqual([...GLOBAL_FLAGS].sort());
    expect(r.stdout).toContain("scoregate COMMAND --help (or scoregate help COMMAND) shows a command's flags");
    expect(r.stdout).toContain(`(default: ${CALIBRATE_TIMEOUT_SECONDS} for calibrate, ${DEFAULT_TIMEOUT_SECONDS} otherwise)`);
    expect((await cli(["help"], env)).stdout).toBe(r.stdout);
    expect((await cli(["help", "--json"], env)).stdout).toBe((await cli(["--help", "--json"], env)).stdout);
    const doc = JSON.parse((await cli(["--help", "--json"], env)).stdout);
    expect(doc.commands.map((c: { command: string }) => c.command)).toEqual(COMMANDS);
  });

  it("the exit-code table names every command whose own help lists a code above 2, with that code", async () => {
    const doc = JSON.parse((await cli(["--help", "--json"], env)).stdout);
    const rows: { code: string; meaning: string }[] = doc.exit_codes;
    for (const command of COMMANDS)
      for (const [code] of COMMAND_HELP[command].exits.filter(([c]) => Number(c) > 2)) {
        const row = rows.find((r) => r.code.split(", ").includes(code));
        expect([command, code, row !== undefined && new RegExp(`\\b${command}\\b`, "u").test(row.meaning)]).toEqual([command, code, true]);
      }
    const text = (await cli(["--help"], env)).stdout;
    expect(section(text, "Exit codes:").slice(-3)).toEqual([
      "  3, 4, 5, 6  calibrate and shadow: a decision; promote and promotion, when they wait for a",
      "              promotion: its outcome (scoregate COMMAND --help says which)",
      "  130, 143    interrupted by SIGINT (Ctrl-C) or SIGTERM: stopped at once (watch ends with 0 instead)",
    ]);
  });
});

describe("the help table", () => {
  it("every flag has words, and a placeholder exactly when it takes a value", () => {
    for (const [name, o] of Object.entries(OPTIONS)) {
      const h = FLAG_HELP[name as keyof typeof OPTIONS];
      expect([name, h.text.length > 0, h.arg !== undefined]).toEqual([name, true, o.type === "string"]);
    }
  });

  it("a usage error of a known command points at its help; before a command is known, at the overview", async () => {
    const r = await cli(["history", "--embedding", "e", "--reranker", "r", "--target", "0.2"], env);
    expect(r.stderr.split("\n").at(-2)).toBe("  scoregate history --help shows its flags and examples");
    // a flag's own error, read before the command runs, points at the command's help too
    const flag = await cli(["gates", "--colour"], env);
    expect(flag.stderr.split("\n").at(-2)).toBe("  scoregate gates --help shows its flags and examples");
    for (const argv of [["frobnicate", "--colour"], ["--colour"], ["thresold", "--taregt", "0.2"]]) {
      const unknown = await cli(argv, env);
      expect([argv, unknown.stderr.split("\n").at(-2)]).toEqual([
        argv,
        "  scoregate --help lists the commands, scoregate COMMAND --help a command's flags",
      ]);
    }
  });
});

describe("the documentation's command lines", () => {
  // a command line in the docs that passes a flag its command refuses would exit 2 for whoever copies it
  it.each(["README.md", "packages/cli/README.md", "docs/clients.md"])("%s passes each command only flags it takes", (path) => {
    const text = readFileSync(join(import.meta.dirname, "..", "..", "..", path), "utf8");
    const lines = [...text.matchAll(new RegExp(`scoregate (${COMMANDS.join("|")})\\b([^\`\n|#]*)`, "gu"))];
    expect(lines.length).toBeGreaterThan(0);
    for (const [line, command, rest] of lines) {
      const takes = new Set<string>([...COMMAND_FLAGS[command as CommandName], ...GLOBAL_FLAGS]);
      expect([line, [...flagsNamed(rest!)].filter((f) => !takes.has(f))]).toEqual([line, []]);
    }
  });
});
