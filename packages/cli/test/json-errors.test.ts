/**
 * `--json` errors: one document on stdout, `{"error": {"code", "message", "source", "status"?, "details"?, "hints"},
 * "exit_code"}`, with the server's error code at the top level when the server refused, else the CLI's own
 * (CLI_ERROR_CODES). docs/clients.md ("Errors in --json") documents the shape.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { API_VERSION, ERROR_CODES } from "../../../src/contract";
import { CLI_ERROR_CODES } from "../src/http";
import { responses } from "./support/responses";
import { cli } from "./support/run";
import { stubFixture } from "./support/stub-server";

interface ErrorDoc {
  error: { code: string; message: string; source: "server" | "cli"; status?: number; details?: unknown; hints: string[] };
  exit_code: number;
}

const { stub, dir, env } = stubFixture("scoregate-cli-json-", (d) => writeFileSync(join(d, "scores.txt"), "0.1\n0.2\n0.3\n"));
const scores = join(dir, "scores.txt");
const gate = ["--embedding", "e5", "--reranker", "bge", "--index-version", "v2"];
async function jsonError(argv: string[], e: Record<string, string | undefined> = env()): Promise<ErrorDoc> {
  const r = await cli([...argv, "--json"], e);
  expect(r.stderr).toBe("");
  const doc = JSON.parse(r.stdout) as ErrorDoc;
  expect(doc.exit_code).toBe(r.code);
  return doc;
}

describe("--json errors", () => {
  it("the CLI's own codes never collide with the server's", () => {
    expect(CLI_ERROR_CODES.filter((c) => (ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
  });

  it("a server refusal: its code, message and details at the top level, the status, and what to do", async () => {
    const refusal = responses.tooFewScores();
    stub.handle(() => ({ status: 422, body: refusal }));
    const doc = await jsonError(["calibrate", scores, ...gate, "--target", "0.999"]);
    expect(doc).toEqual({
      error: {
        code: "too_few_scores",
        message: refusal.error.message,
        source: "server",
        status: 422,
        details: refusal.error.details,
        hints: ["a target drop rate of 99.9 % needs at least 999 scores, the file has 100: lower --target or upload more scores"],
      },
      exit_code: 2,
    });
  });

  it("field problems stay the server's list; a 404 uncalibrated keeps its details", async () => {
    stub.handle(() => ({ status: 422, body: responses.invalidInput() }));
    const invalid = await jsonError(["calibrate", scores, ...gate, "--target", "0.2"]);
    expect(invalid.error).toMatchObject({
      code: "invalid_input",
      source: "server",
      status: 422,
      details: [{ path: "policy.target", message: "must be in [0, 1): a share, 0.2 for 20 %" }],
    });
    stub.handle(() => ({ status: 404, body: responses.uncalibrated() }));
    const missing = await jsonError(["threshold", "--embedding", "nope", "--reranker", "nope"]);
    expect(missing.error).toMatchObject({ code: "uncalibrated", source: "server", status: 404, details: { embedding: "nope" } });
    expect(missing.exit_code).toBe(2);
  });

  it("a code this CLI does not know yet (a newer server) is passed on", async () => {
    stub.handle(() => ({ status: 409, body: { error: { code: "gate_archived", message: "the gate is archived" } } }));
    const doc = await jsonError(["gates"]);
    expect(doc.error).toEqual({ code: "gate_archived", message: "the gate is archived", source: "server", status: 409, hints: [] });
  });

  it("an answer without the envelope (a proxy's 502) is invalid_response with the status", async () => {
    stub.handle(() => ({ status: 502, body: "<html>bad gateway</html>" }));
    const doc = await jsonError(["gates"]);
    expect(doc.error).toMatchObject({ code: "invalid_response", source: "cli", status: 502 });
    expect(doc.exit_code).toBe(1);
  });

  it("a 201 that is not a scoregate calibration (a proxy, a wrong --url) is invalid_response, exit 1, never 'served'", async () => {
    stub.handle(() => ({ status: 201, body: { calibration: 5 } }));
    const doc = await jsonError(["calibrate", scores, ...gate, "--target", "0.2"]);
    expect(doc.error).toMatchObject({ code: "invalid_response", source: "cli" });
    expect(doc.error.message).toContain("not a scoregate calibration");
    expect(doc.exit_code).toBe(1);
  });

  const gateFlags = ["--embedding", "e5", "--reranker", "bge"];
  it.each([
    ["threshold", ["threshold", ...gateFlags], { threshold: "oops" }, "a scoregate threshold"],
    ["threshold", ["threshold", ...gateFlags], { ...responses.threshold(), guards: null }, "a scoregate threshold"],
    ["history", ["history", ...gateFlags], { gate_id: "g1", calibrations: "none" }, "a scoregate calibration history"],
    ["activate", ["activate", "cal_1"], { ok: true }, "a scoregate activation"],
    ["alerts", ["alerts"], { alerts: [{ id: "alr_1" }] }, "a scoregate alert list"],
    ["gates", ["gates"], { gates: "all" }, "a scoregate gate list"],
    ["monitor", ["monitor", ...gateFlags], { gate_id: "g1", state: "watching" }, "a scoregate monitor report"],
  ] as const)(
    "a 200 that is not its answer (a proxy, a wrong --url): %s exits 1 with invalid_response, in text and --json",
    async (_, argv, body, what) => {
      stub.handle(() => ({ status: 200, body }));
      const text = await cli([...argv], env());
      expect(text.code).toBe(1);
      expect(text.stdout).toBe("");
      expect(text.stderr.split("\n").slice(0, 2)).toEqual([
        `scoregate: the server answered 200 with a body that is not ${what}`,
        "  is --url pointing at a scoregate server?",
      ]);
      const doc = await jsonError([...argv]);
      expect(doc.error).toMatchObject({
        code: "invalid_response",
        source: "cli",
        message: `the server answered 200 with a body that is not ${what}`,
      });
      expect(doc.exit_code).toBe(1);
    },
  );

  it.each([
    [
      "an HTML page (a plain web server)",
      "<!DOCTYPE HTML>\n<html><body>404 File not found</body></html>",
      "text/html",
      "404: an HTML page (Not Found), not a scoregate answer",
    ],
    ["JSON of another service", '{"detail":"Not Found"}', "application/json", '404: {"detail":"Not Found"}'],
  ])("a 404 that is not a scoregate error (%s): exit 1 with invalid_response and the --url hint, no page dumped", async (_, body, type, said) => {
    stub.handle(() => ({ status: 404, body, headers: { "Content-Type": type } }));
    const text = await cli(["threshold", ...gateFlags], env());
    expect(text.code).toBe(1);
    expect(text.stderr.split("\n").slice(0, 2)).toEqual([
      `scoregate: ${said}`,
      "  the answer is not a scoregate error: is --url pointing at a scoregate server?",
    ]);
    const doc = await jsonError(["threshold", ...gateFlags]);
    expect(doc.error).toMatchObject({ code: "invalid_response", status: 404 });
    expect(doc.exit_code).toBe(1);
  });

  it("a 401 or 403 that is not a scoregate error names a proxy in front of scoregate as a likely cause", async () => {
    stub.handle(() => ({ status: 403, body: "<html><body>Access denied</body></html>", headers: { "Content-Type": "text/html" } }));
    const text = await cli(["threshold", ...gateFlags], env());
    expect(text.code).toBe(1);
    expect(text.stderr.split("\n").slice(0, 2)).toEqual([
      "scoregate: 403: an HTML page (Forbidden), not a scoregate answer",
      "  the answer is not a scoregate error: a proxy in front of scoregate (an access gateway) may have refused the request, or --url points at another server",
    ]);
  });

  it("a 200 that is not JSON (a proxy's page) carries its status under --json", async () => {
    stub.handle(() => ({ status: 200, body: "<html>sign in</html>", headers: { "Content-Type": "text/html" } }));
    const doc = await jsonError(["threshold", ...gateFlags]);
    expect(doc.error).toMatchObject({ code: "invalid_response", status: 200, source: "cli" });
    expect(doc.exit_code).toBe(1);
  });

  it("--version --json is one JSON document", async () => {
    const r = await cli(["--version", "--json"], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/u), api_version: API_VERSION });
    expect((await cli(["--version"], env())).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/u);
  });

  it("a URL with surrounding whitespace (pasted, or read from a file) is trimmed", async () => {
    stub.handle(() => ({ status: 200, body: responses.threshold() }));
    const r = await cli(["threshold", ...gateFlags, "--json"], { ...env(), SCOREGATE_URL: ` ${stub.url} \n` });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ threshold: responses.threshold().threshold });
  });

  it("a threshold answer with fields this CLI does not know passes them on under --json", async () => {
    stub.handle(() => ({ status: 200, body: { ...responses.threshold(), newer_field: { x: 1 } } }));
    const r = await cli(["threshold", ...gateFlags, "--json"], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ newer_field: { x: 1 }, threshold: responses.threshold().threshold });
  });

  it.each([
    ["usage", ["calibrate", scores, ...gate], 2],
    ["usage", ["gates", "--colour"], 2],
    ["usage", [], 2],
    ["invalid_file", ["calibrate", join(dir, "missing.csv"), ...gate, "--target", "0.2"], 2],
  ] as const)("the CLI's own failures: %s for %j", async (code, argv, exit) => {
    const doc = await jsonError([...argv]);
    expect(doc.error.code).toBe(code);
    expect(doc.error.source).toBe("cli");
    expect(doc.error.status).toBeUndefined();
    expect(doc.exit_code).toBe(exit);
    expect(Array.isArray(doc.error.hints)).toBe(true);
    // the last hint points at the command's own help once the command is known, else at the overview
    if (code === "usage") expect(doc.error.hints.at(-1)).toMatch(/^scoregate (?:[a-z]+ )?--help /u);
  });

  it("unreachable and timeout", async () => {
    const down = await jsonError(["gates"], { SCOREGATE_URL: "http://127.0.0.1:1", SCOREGATE_TOKEN: "t" });
    expect(down.error).toMatchObject({ code: "unreachable", source: "cli" });
    expect(down.error.message).toContain("could not reach http://127.0.0.1:1");
    expect(down.error.hints.join(" ")).toContain("SCOREGATE_URL");
    expect(down.exit_code).toBe(1);
    stub.handle(() => ({ status: 200, body: { gates: [] }, delayMs: 2000 }));
    const slow = await jsonError(["gates", "--timeout", "0.2"]);
    expect(slow.error.code).toBe("timeout");
  });

  it("a bad file lists its bad rows as hints", async () => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "query_id;score\nq1;0,5\nq1;oops\n");
    const doc = await jsonError(["calibrate", bad, ...gate, "--target", "0.2"]);
    expect(doc.error.code).toBe("invalid_file");
    expect(doc.error.hints).toEqual(['line 3: "oops" is not a finite number']);
  });
});
