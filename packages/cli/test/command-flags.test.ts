/**
 * A flag the command does not read is refused before anything is sent (it would otherwise be silently ignored:
 * `threshold --target 0.3` prints the served threshold, not one at 0.3), and so is an argument to a command that takes
 * none. The server is unreachable here: a check that let the command run would exit 1, not 2.
 */
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { OPTIONS } from "../src/args";
import { COMMAND_FLAGS, GLOBAL_FLAGS } from "../src/command-flags";
import { run } from "../src/main";
import { cli } from "./support/run";

const env = { SCOREGATE_URL: "http://127.0.0.1:1", SCOREGATE_TOKEN: "t" };
const gate = ["--embedding", "e5", "--reranker", "bge"];

describe("flags a command does not take", () => {
  it.each([
    [["threshold", ...gate, "--target", "0.3"], "scoregate: threshold does not take --target (it is a flag of calibrate)"],
    [["history", ...gate, "--index-version", "v2"], "scoregate: history does not take --index-version (it is a flag of calibrate, threshold)"],
    [["gates", "--limit", "5"], "scoregate: gates does not take --limit (it is a flag of history, alerts)"],
    [["activate", "cal_x", "--steps", "10,100"], "scoregate: activate does not take --steps (it is a flag of promote)"],
    [["alerts", "--dry-run"], "scoregate: alerts does not take --dry-run (it is a flag of calibrate, activate)"],
    [["promotion", "prm_x", "--reason", "why"], "scoregate: promotion does not take --reason (it is a flag of activate, shadow, promote)"],
    [["watch", ...gate, "--limit", "3"], "scoregate: watch does not take --limit (it is a flag of history, alerts)"],
    [["shadow", "cal_x", "--target", "0.2"], "scoregate: shadow does not take --target (it is a flag of calibrate)"],
  ])("%j exits 2: %s", async (argv, first) => {
    const r = await cli(argv, env);
    expect([r.code, r.stdout, r.stderr.split("\n")[0]]).toEqual([2, "", first]);
  });

  it("the hint lists what the command does take", async () => {
    const r = await cli(["threshold", ...gate, "--since", "4"], env);
    expect(r.stderr.split("\n").slice(1, 3)).toEqual([
      "  threshold takes --index, --embedding, --reranker, --index-version and the global flags",
      "  scoregate threshold --help shows its flags and examples",
    ]);
    const g = await cli(["gates", "--index", "docs"], env);
    expect(g.stderr.split("\n")[1]).toBe("  gates takes only the global flags");
  });

  it("--json carries the refusal as a usage error document", async () => {
    const r = await cli(["threshold", ...gate, "--target", "0.3", "--json"], env);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      error: { code: "usage", source: "cli", message: "threshold does not take --target (it is a flag of calibrate)" },
      exit_code: 2,
    });
  });

  it("the global flags go with every command, and --help still prints the command's help", async () => {
    const r = await cli(["threshold", ...gate, "--timeout", "1", "--url", "http://127.0.0.1:1", "--token", "t"], env);
    expect(r.code).toBe(1); // reached the (unreachable) server
    const help = await cli(["threshold", "--target", "0.3", "--help"], env);
    expect([help.code, help.stdout.startsWith("scoregate threshold: ")]).toEqual([0, true]);
  });

  it("promote refuses a plan mixed with an override of the open promotion", async () => {
    const r = await cli(["promote", "cal_x", "--pause", "--steps", "10,100", "--min-queries", "50"], env);
    expect([r.code, r.stderr.split("\n")[0]]).toEqual([
      2,
      "scoregate: --pause changes the open promotion and takes no plan: --steps, --min-queries plan a new one",
    ]);
    const reason = await cli(["promote", "cal_x", "--rollback", "--reason", "bad arm"], env);
    expect(reason.code).toBe(1); // a reason goes with an override: the request was attempted
  });

  it.each([
    [["threshold", "docs", ...gate], 'scoregate: threshold takes no arguments, got "docs"'],
    [["gates", "all"], 'scoregate: gates takes no arguments, got "all"'],
    [["alerts", "open", "rebuild_shift"], 'scoregate: alerts takes no arguments, got "open" "rebuild_shift"'],
    [["history", ...gate, "cal_x"], 'scoregate: history takes no arguments, got "cal_x"'],
  ])("%j exits 2: %s", async (argv, first) => {
    const r = await cli(argv, env);
    expect([r.code, r.stderr.split("\n")[0]]).toEqual([2, first]);
  });

  it("every flag is global or read by at least one command, and no command lists a flag twice", () => {
    const owned = new Set<string>([...GLOBAL_FLAGS, ...Object.values(COMMAND_FLAGS).flat()]);
    expect(Object.keys(OPTIONS).filter((f) => !owned.has(f))).toEqual([]);
    for (const [command, flags] of Object.entries(COMMAND_FLAGS)) expect([command, new Set(flags).size]).toEqual([command, flags.length]);
  });
});

describe("count flags take plain decimal digits", () => {
  const calibrate = ["calibrate", "scores.csv", ...gate, "--index-version", "v2", "--target", "0.3"];
  // every flag that takes a count, with a value in its range
  const counts = [
    [["history", ...gate], "--limit", "50"],
    [["alerts"], "--limit", "50"],
    [calibrate, "--min-keep", "3"],
    [calibrate, "--max-keep", "10"],
    [["promote", "cal_x"], "--min-queries", "2000"],
    [["watch", ...gate], "--since", "42"],
  ] as const;

  it.each(counts)("%j %s refuses 2e3, 0x10, 1.0, +5, a space and an empty value, naming the flag and the value", async (argv, flag) => {
    for (const bad of ["2e3", "0x10", "1.0", "+5", " 5", ""]) {
      const r = await cli([...argv, `${flag}=${bad}`], env);
      const first = r.stderr.split("\n")[0];
      expect([bad, r.code, r.stdout]).toEqual([bad, 2, ""]);
      expect(first).toMatch(
        new RegExp(
          `^scoregate: ${flag} ${JSON.stringify(bad).replace("+", "\\+")} is not valid: it must be .*, written in decimal digits only$`,
          "u",
        ),
      );
    }
  });

  // calibrate would read its file next, and watch retries an unreachable server until stopped
  it("a count in digits passes the flag check (the unreachable server then exits 1)", async () => {
    for (const [argv, flag, good] of counts.filter(([argv]) => argv[0] !== "calibrate" && argv[0] !== "watch")) {
      const r = await cli([...argv, flag, good], env);
      expect([flag, r.code]).toEqual([flag, 1]);
    }
  });

  it("a count out of range says the range without the digits clause", async () => {
    const r = await cli(["promote", "cal_x", "--min-queries", "50"], env);
    expect(r.stderr.split("\n")[0]).toBe(
      'scoregate: --min-queries "50" is not valid: it must be a whole number of queries from 200 to 10,000,000 (default 2,000)',
    );
  });
});

describe("--timeout", () => {
  // beyond a timer's 32-bit millisecond count Node fires it after 1 ms: the request gave up at once, "within 3000000 s"
  it.each(["0", "0.0000001", "3000000", "2147484", "0.0009"])("--timeout %s exits 2 before any request, with the range", async (bad) => {
    const r = await cli(["threshold", ...gate, "--timeout", bad], env);
    expect([r.code, r.stderr.split("\n")[0]]).toEqual([
      2,
      `scoregate: --timeout ${JSON.stringify(bad)} is not valid: it must be a number of seconds from 0.001 to 2,147,483`,
    ]);
  });

  // seconds are written as plain decimals, as counts are written in digits: "1e3" is a pipeline's arithmetic leaking
  it.each(["1e3", "1E3", "1e10", "5e-1", "0x10", "+5", " 5", "5 ", "Infinity", "1_000", "1.2.3", ".", "", "soon"])(
    "--timeout %j (not a plain decimal) exits 2 before any request, saying how to write it",
    async (bad) => {
      const r = await cli(["threshold", ...gate, `--timeout=${bad}`], env);
      expect([r.code, r.stderr.split("\n")[0]]).toEqual([
        2,
        `scoregate: --timeout ${JSON.stringify(bad)} is not valid: it must be a number of seconds from 0.001 to 2,147,483, written as a plain decimal number (e.g. 30 or 0.5)`,
      ]);
    },
  );

  it("--timeout 1e3 in --json is a usage error document, exit 2", async () => {
    const r = await cli(["threshold", ...gate, "--timeout", "1e3", "--json"], env);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "usage", source: "cli" }, exit_code: 2 });
  });

  it("the range's ends and plain decimals are taken (the unreachable server then exits 1, not a timer error)", async () => {
    for (const good of ["0.001", "0.0015", "2147483", ".5", "30.", "007"]) {
      const r = await cli(["threshold", ...gate, "--timeout", good], env);
      expect([good, r.code, r.stderr]).toEqual([good, 1, expect.stringMatching(/^scoregate: could not reach http:\/\/127\.0\.0\.1:1 /u)]);
    }
  });
});

describe("number flags", () => {
  const calibrate = ["calibrate", "scores.csv", ...gate, "--index-version", "v2"];
  it.each([
    [[...calibrate, "--target", "0x0"], '--target "0x0" is not valid'],
    [[...calibrate, "--carry=0x1"], '--carry "0x1" is not valid'],
    [[...calibrate, "--target", "0.2", "--abstain-rate", "0b0"], '--abstain-rate "0b0" is not valid'],
    [[...calibrate, "--target", "0.2", "--label-column", "l", "--relevant-at", "0o2"], '--relevant-at "0o2" is not valid'],
    [["promote", "cal_x", "--max-step-hours", "0x10"], '--max-step-hours "0x10" is not valid'],
    [["shadow", "cal_x", "--sample-rate", "Infinity"], '--sample-rate "Infinity" is not valid'],
  ])("%j refuses a JavaScript integer literal or a non-finite value: %s", async (argv, message) => {
    const r = await cli(argv, env);
    expect([r.code, r.stdout]).toEqual([2, ""]);
    expect(r.stderr.split("\n")[0]).toContain(`scoregate: ${message}: it must be `);
  });

  it("refuses a shadow's sample rate below one key in 10,000 before sending anything", async () => {
    const r = await cli(["shadow", "cal_x", "--sample-rate", "0.00005"], env);
    expect([r.code, r.stdout]).toEqual([2, ""]);
    expect(r.stderr.split("\n")[0]).toBe(
      'scoregate: --sample-rate "0.00005" is not valid: it must be a share of queries from 0.0001 (one key in 10,000) to 1, e.g. 0.1',
    );
  });
});

describe("no command", () => {
  it("exits 2 with the overview on stderr and nothing on stdout; --help and help print it on stdout and exit 0", async () => {
    const none = await cli([], env);
    expect([none.code, none.stdout]).toEqual([2, ""]);
    expect(none.stderr).toContain("Commands:\n  calibrate ");
    for (const argv of [["--help"], ["help"]]) {
      const r = await cli(argv, env);
      expect([argv, r.code, r.stderr, r.stdout]).toEqual([argv, 0, "", none.stderr]);
    }
    const calibrate = await cli(["calibrate", "--help"], env);
    expect([calibrate.code, calibrate.stderr]).toEqual([0, ""]);
    expect(calibrate.stdout).toContain("Usage:\n  scoregate calibrate FILE|-");
    const json = await cli(["--json"], env);
    expect([json.code, json.stderr]).toEqual([2, ""]);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: "usage",
      message: expect.stringMatching(/^no command: give one of calibrate, threshold, /u),
    });
  });
  it("a flag that took the command as its value says so instead of printing the overview", async () => {
    for (const json of [false, true]) {
      const r = await cli(["--index", "threshold", "--embedding", "e", "--reranker", "r", ...(json ? ["--json"] : [])], env);
      expect(r.code).toBe(2);
      const text = json ? JSON.parse(r.stdout).error.message : r.stderr;
      expect(text).toContain('no command: --index took "threshold" as its value');
      if (!json) expect(r.stderr).toContain("the command goes first, then its flags: scoregate threshold --index VALUE");
    }
  });
});

describe("calibrate - at a terminal", () => {
  const argv = ["calibrate", "-", ...gate, "--index-version", "v2", "--target", "0.2"];
  const runWith = async (isTTY: boolean): Promise<string> => {
    const stdin = Object.assign(Readable.from([Buffer.from("0.5\n0.25\n")]), { isTTY });
    let stderr = "";
    // the upload's retries go at once, as in every other test (support/run.ts): its waits alone are 3 s a run
    const code = await run(argv, {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s) },
      env,
      stdin,
      sleep: async () => {},
    });
    // the scores are read, then the unreachable server exits 1
    expect(code).toBe(1);
    return stderr;
  };

  it("says it reads the terminal (a pipe was meant, or it waits for Ctrl-D), and says nothing for a pipe", async () => {
    expect((await runWith(true)).split("\n")[0]).toBe(
      "reading scores from the terminal: type or paste them, then Ctrl-D (a pipeline pipes them: ... | scoregate calibrate - ...)",
    );
    expect(await runWith(false)).not.toContain("terminal");
  });
});
