/** "Did you mean": the closest command, flag or value for a typo, and nothing when nothing is close. */
import { describe, expect, it } from "vitest";
import { OPTIONS, VALUE_EXAMPLES } from "../src/args";
import { COMMAND_FLAGS, type CommandName, GLOBAL_FLAGS } from "../src/command-flags";
import { suggest } from "../src/suggest";
import { cli } from "./support/run";

const env = { SCOREGATE_URL: "http://127.0.0.1:1", SCOREGATE_TOKEN: "t" };
const gate = ["--embedding", "e5", "--reranker", "bge", "--index-version", "v2"];

describe("suggest", () => {
  const known = ["target", "index", "index-version", "embedding", "reranker", "delimiter", "dry-run"];
  it.each([
    ["taregt", "target"],
    ["traget", "target"],
    ["index_version", "index-version"],
    ["Index-Version", "index-version"],
    ["dryrun", "dry-run"],
    ["embed", "embedding"],
    ["rerank", "reranker"],
    ["delimeter", "delimiter"],
  ])("%s -> %s", (typed, expected) => {
    expect(suggest(typed, known)).toBe(expected);
  });

  it.each(["colour", "x", "in", "zzzzzz", ""])("nothing close to %j", (typed) => {
    expect(suggest(typed, known)).toBeUndefined();
  });

  it("a prefix of several names suggests none of them", () => {
    expect(suggest("ind", ["index", "index-version"])).toBe("index");
    expect(suggest("inde", ["index-a", "index-b"])).toBeUndefined();
  });
});

describe("the CLI suggests", () => {
  it.each([
    [["calibrate", "s.csv", ...gate, "--taregt", "0.2"], "unknown flag --taregt: did you mean --target?"],
    [
      ["calibrate", "s.csv", "--embedding", "e5", "--reranker", "bge", "--index_version", "v2"],
      "unknown flag --index_version: did you mean --index-version?",
    ],
    [["calibrate", "s.csv", ...gate, "--target=0.2", "--dryrun"], "unknown flag --dryrun: did you mean --dry-run?"],
    [["threshold", "--embed", "e5", "--reranker", "bge"], "unknown flag --embed: did you mean --embedding?"],
    [["calibrate", "s.csv", ...gate, "-target", "0.2"], 'unknown flag "-target": flags take two dashes: did you mean --target?'],
    [["calibrte", "s.csv"], 'unknown command "calibrte": did you mean calibrate?'],
    [["gate"], 'unknown command "gate": did you mean gates?'],
    [["threshhold"], 'unknown command "threshhold": did you mean threshold?'],
    [["calibrate", "s.csv", ...gate, "--target", "0.2", "--format", "cvs"], '--format "cvs" is not one of csv, tsv, jsonl, text: did you mean csv?'],
    [["calibrate", "s.csv", ...gate, "--target", "0.2", "--score-scale", "probabilty"], "did you mean probability?"],
    [
      ["alerts", "--kind", "rebuild-shift"],
      '--kind "rebuild-shift" is not one of rebuild_shift, drop_rate_drift, empty_context, uncalibrated_request, recall_drift, abstention_drift, unscored_candidates, promotion_paused, promotion_rolled_back: did you mean rebuild_shift?',
    ],
    [["alerts", "--status", "opne"], "did you mean open?"],
    [["calibrate", "s.csv", ...gate, "--target", "0.3", "--target", "0.4"], '--target is given twice ("0.3" and "0.4"): give it once'],
    [
      ["calibrate", "s.csv", ...gate, "--carry", "--reference", "actve"],
      '--reference "actve" is neither "active" nor a calibration id (cal_...): did you mean active?',
    ],
    [["threshold", "--embedding", "e5", "--embedding=e6", "--reranker", "bge"], '--embedding is given twice ("e5" and "e6"): give it once'],
    [
      ["calibrate", "s.csv", ...gate, "--carry", "--reference", "cal_nope"],
      '--reference "cal_nope" is not a well-formed calibration id (cal_ and 10 to 40 lowercase letters or digits)',
    ],
    [
      ["calibrate", "s.csv", ...gate, "--carry", "abc"],
      '--carry takes no value but an optional number (the old absolute threshold), not "abc"; what it carries from is --reference REF ("active" or a calibration id)',
    ],
    [
      ["calibrate", "s.csv", ...gate, "--carry", "cal_0123456789"],
      "--carry takes no calibration (only an optional number, the old absolute threshold): did you mean --reference cal_0123456789?",
    ],
    [["alerts", "--embedding", "e5"], "missing --reranker: a gate is (--index, --embedding, --reranker)"],
    [["alerts", "--reranker", "bge", "--index", "docs"], "missing --embedding: a gate is (--index, --embedding, --reranker)"],
  ])("%j: %s", async (argv, message) => {
    const r = await cli(argv, env);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toContain(message);
    // the command's own help once the command is known, else the overview
    expect(r.stderr).toMatch(/\n {2}scoregate (?:[a-z]+ )?--help /u);
  });

  it("lists the commands when nothing is close, and names no flag when none is close", async () => {
    const r = await cli(["frobnicate"], env);
    expect(r.stderr).toContain('unknown command "frobnicate"\n');
    expect(r.stderr).toContain("the commands: calibrate, threshold, history, activate, alerts, monitor, gates, shadow, promote, promotion, watch\n");
    const f = await cli(["gates", "--colour"], env);
    expect(f.stderr.split("\n")[0]).toBe("scoregate: unknown flag --colour");
  });

  it("a value that starts with a dash is not taken for a flag, and the fix is named", async () => {
    const r = await cli(["calibrate", "s.csv", ...gate, "--target", "-0.1"], env);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe('scoregate: --target needs a value, e.g. --target 0.2: it is followed by "-0.1"');
    expect(r.stderr).toContain("a value that starts with a dash goes after an equals sign: --target=-0.1");
    expect(r.stderr).not.toContain("unknown flag");
  });

  it("a flag followed by another flag is a value left out, not a value to write after an equals sign", async () => {
    const r = await cli(["calibrate", "s.csv", ...gate, "--target", "--score-column", "ce_score"], env);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe("scoregate: --target needs a value, e.g. --target 0.2: it is followed by the flag --score-column");
    expect(r.stderr).not.toContain("--target=--score-column");
  });

  it("a flag without its value is named in the CLI's words with an example, for every flag that takes one", async () => {
    for (const name of Object.keys(VALUE_EXAMPLES)) {
      if (name === "carry") continue; // its value is optional: a bare --carry carries the reference's own threshold
      // a command that reads the flag (one that does not refuses the flag itself: see "the command is read first")
      const command = (GLOBAL_FLAGS as readonly string[]).includes(name)
        ? "gates"
        : (Object.keys(COMMAND_FLAGS) as CommandName[]).find((c) => (COMMAND_FLAGS[c] as readonly string[]).includes(name))!;
      const r = await cli([command, `--${name}`], env);
      expect(r.code, name).toBe(2);
      expect(r.stderr.split("\n")[0], name).toBe(
        `scoregate: --${name} needs a value, e.g. --${name} ${VALUE_EXAMPLES[name as keyof typeof VALUE_EXAMPLES]}`,
      );
      expect(r.stderr).not.toContain("Option '");
    }
    const next = await cli(["calibrate", "s.csv", ...gate, "--target", "--dry-run"], env);
    expect(next.stderr.split("\n")[0]).toBe("scoregate: --target needs a value, e.g. --target 0.2: it is followed by the flag --dry-run");
    // every flag that takes a value has an example (the type checks it too)
    expect(
      Object.keys(OPTIONS)
        .filter((k) => OPTIONS[k as keyof typeof OPTIONS].type === "string")
        .sort(),
    ).toEqual(Object.keys(VALUE_EXAMPLES).sort());
  });

  it("--delimiter names the separators it takes", async () => {
    const r = await cli(["calibrate", "s.csv", ...gate, "--target", "0.2", "--delimiter", "colon"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--delimiter "colon" is not one of comma, semicolon, tab, pipe');
  });
});

describe("the command is read first: a flag's error is about that command", () => {
  const thresholdGate = ["--embedding", "e", "--reranker", "r"];
  const calibrateHint = "  scoregate calibrate --help shows its flags and examples";

  it("a mistyped flag is matched against the command's own flags only, and points at the command's help", async () => {
    // --target is calibrate's: threshold would refuse it, so suggesting it helped no one
    const r = await cli(["threshold", "--taregt", "0.2", ...thresholdGate], env);
    expect([r.code, r.stdout, r.stderr.split("\n")]).toEqual([
      2,
      "",
      ["scoregate: unknown flag --taregt", "  scoregate threshold --help shows its flags and examples", ""],
    ]);
    // a flag the command reads is still suggested, the global ones included
    const embed = await cli(["threshold", "--embed", "e", "--reranker", "r"], env);
    expect(embed.stderr.split("\n").slice(0, 2)).toEqual([
      "scoregate: unknown flag --embed: did you mean --embedding?",
      "  scoregate threshold --help shows its flags and examples",
    ]);
    const token = await cli(["gates", "--tokn", "t"], env);
    expect(token.stderr.split("\n")[0]).toBe("scoregate: unknown flag --tokn: did you mean --token?");
    const dash = await cli(["threshold", "-target", "0.2", ...thresholdGate], env);
    expect(dash.stderr.split("\n").slice(0, 2)).toEqual([
      'scoregate: unknown flag "-target": flags take two dashes',
      "  scoregate threshold --help shows its flags and examples",
    ]);
  });

  it("an unknown command keeps the overview's pointer, and the flags of every command for a suggestion", async () => {
    const r = await cli(["thresold", "--taregt", "0.2"], env);
    expect([r.code, r.stderr.split("\n")]).toEqual([
      2,
      [
        "scoregate: unknown flag --taregt: did you mean --target?",
        "  scoregate --help lists the commands, scoregate COMMAND --help a command's flags",
        "",
      ],
    ]);
  });

  it("a flag without its value, or given twice, points at the command's help", async () => {
    const missing = await cli(["calibrate", "s.csv", ...gate, "--target"], env);
    expect([missing.code, missing.stderr.split("\n")]).toEqual([2, ["scoregate: --target needs a value, e.g. --target 0.2", calibrateHint, ""]]);
    const twice = await cli(["calibrate", "s.csv", ...gate, "--target", "0.3", "--target", "0.4"], env);
    expect([twice.code, twice.stderr.split("\n")]).toEqual([
      2,
      ['scoregate: --target is given twice ("0.3" and "0.4"): give it once', calibrateHint, ""],
    ]);
    const json = await cli(["calibrate", "s.csv", ...gate, "--target", "--json"], env);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: "usage",
      message: "--target needs a value, e.g. --target 0.2: it is followed by the flag --json",
      hints: ["scoregate calibrate --help shows its flags and examples"],
    });
  });

  it("a flag the command does not read is refused as such, before its value is checked", async () => {
    for (const argv of [
      ["threshold", ...thresholdGate, "--target"],
      ["threshold", ...thresholdGate, "--target", "0.3", "--target", "0.4"],
    ]) {
      const r = await cli(argv, env);
      expect([argv, r.code, r.stderr.split("\n")]).toEqual([
        argv,
        2,
        [
          "scoregate: threshold does not take --target (it is a flag of calibrate)",
          "  threshold takes --index, --embedding, --reranker, --index-version and the global flags",
          "  scoregate threshold --help shows its flags and examples",
          "",
        ],
      ]);
    }
  });

  it("the command is found after a global flag and its value, and its --help still prints beside a stray flag", async () => {
    const r = await cli(["--url", "http://127.0.0.1:1", "threshold", "--taregt", "0.2"], env);
    expect(r.stderr.split("\n").slice(0, 2)).toEqual([
      "scoregate: unknown flag --taregt",
      "  scoregate threshold --help shows its flags and examples",
    ]);
    const help = await cli(["threshold", "--target", "0.2", "--help"], env);
    expect([help.code, help.stderr]).toEqual([0, ""]);
    expect(help.stdout).toContain("scoregate threshold");
  });
});
