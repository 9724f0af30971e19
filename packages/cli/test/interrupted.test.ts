/**
 * What SIGINT and SIGTERM do, by command (the bin's handlers, cli.ts; the live test sends the signals to the built
 * bin): the command is read as run() reads it, so global value flags before it do not change the answer.
 */
import { describe, expect, it } from "vitest";
import { interruption } from "../src/interrupted";

const gate = ["--index", "docs", "--embedding", "e5", "--reranker", "bge"];
const STORED = ": an upload already sent may have been stored (scoregate history shows it)";

describe("interruption", () => {
  it("watch ends quietly (exit 0) wherever the global flags stand", () => {
    for (const argv of [
      ["watch", ...gate],
      ["--url", "http://localhost:8787", "watch", ...gate],
      ["--token", "dev-read", "watch", ...gate],
      ["--timeout", "30", "--url=http://localhost:8787", "watch", ...gate],
    ]) {
      expect(interruption(argv), argv.join(" ")).toMatchObject({ command: "watch", quiet: true });
    }
  });

  it("calibrate says an upload may have been stored, also after --url or --token", () => {
    for (const argv of [
      ["calibrate", "s.csv", ...gate, "--index-version", "v1"],
      ["--token", "dev-calibrate", "--url", "http://localhost:8787", "calibrate", "s.csv", ...gate],
      ["--timeout", "120", "calibrate", "s.csv", ...gate],
    ]) {
      expect(interruption(argv), argv.join(" ")).toEqual({ command: "calibrate", quiet: false, note: STORED });
    }
  });

  it("promote and promotion say what goes on, also after a global flag", () => {
    expect(interruption(["--url", "http://x", "promote", "cal_1", "--pause"]).note).toBe(
      ": a change already sent may have been applied (scoregate promotion cal_1 shows the promotion)",
    );
    expect(interruption(["--token", "t", "promotion", "prm_1", "--wait", "60"]).note).toMatch(/^ waiting: the promotion goes on/u);
    expect(interruption(["--token", "t", "promotion", "prm_1"])).toEqual({ command: "promotion", quiet: false, note: "" });
  });

  it("a wait interrupted before the promotion is known names the id argv gave, which scoregate promotion takes", () => {
    expect(interruption(["promote", "cal_0000000002", "--steps", "10,100", "--wait", "600"]).note).toBe(
      " waiting: the promotion goes on, only the wait stopped (scoregate promotion cal_0000000002 --wait SECONDS waits again)",
    );
    expect(interruption(["promotion", "prm_7", "--wait=60"]).note).toContain("(scoregate promotion prm_7 --wait SECONDS waits again)");
    // no id (a usage error to come): the placeholder
    expect(interruption(["promote", "--wait", "60"]).note).toContain("scoregate promotion ID --wait SECONDS");
  });

  it("a dry run's note says that it stores nothing, not that an upload may have been stored", () => {
    expect(interruption(["calibrate", "s.csv", ...gate, "--dry-run"]).note).toBe(": a dry run stores nothing");
  });

  it("a command without a note, or none at all, stops with the bare line", () => {
    expect(interruption(["--url", "http://x", "threshold", ...gate])).toEqual({ command: "threshold", quiet: false, note: "" });
    expect(interruption([])).toEqual({ command: undefined, quiet: false, note: "" });
  });
});
