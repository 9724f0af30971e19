/**
 * Who raises uncalibrated_request (src/alerts/uncalibrated-alert.ts), over the in-memory alert store with an injected
 * clock: a service that keeps asking for a gate with no calibration pages on-call, a person's lookup never does.
 */
import { describe, expect, it } from "vitest";
import { fromPersonTool, newUncalibratedMemory, noteUncalibrated, type UncalibratedCaller } from "../../src/alerts/uncalibrated-alert";
import type { ThresholdQuery } from "../../src/contract";
import { MAX_ALERT_SUGGESTIONS, UNCALIBRATED_ALERT_MIN_MINUTES, UNCALIBRATED_ALERT_WINDOW_MINUTES } from "../../src/platform/limits";
import type { GateSuggestion } from "../../src/serving/threshold-reader";
import { memoryDeps } from "../support/memory-deps";

const MINUTE = 60_000;
const query: ThresholdQuery = { index: "docs", embedding: "e5", reranker: "bge-typo", index_version: "v3" };
const service: UncalibratedCaller = { token: "svc-a", userAgent: "scoregate-langchain/0.1.0 scoregate-client/0.1.0" };
const curl: UncalibratedCaller = { token: "alice", userAgent: "curl/8.11.1" };
const cli: UncalibratedCaller = { token: "alice", userAgent: "scoregate-cli/0.1.0" };

function setup(suggestions: readonly GateSuggestion[] = [], q: ThresholdQuery = query) {
  // on a minute boundary, so "every 30 s" lands twice in each minute
  const core = memoryDeps({ startMs: Date.UTC(2026, 11, 1, 12, 0, 0) });
  const { alerts, alertDeps: deps } = core;
  const recent = newUncalibratedMemory();
  /** `times` requests, the clock moving `everyMs` after each. */
  const ask = async (caller: UncalibratedCaller, times = 1, everyMs = 0) => {
    const notes = [];
    for (let i = 0; i < times; i++) {
      notes.push(noteUncalibrated("gate-1", q, caller, suggestions, deps, recent));
      await core.flush();
      core.advance(everyMs);
    }
    return notes;
  };
  const raised = async () => alerts.list({ kind: "uncalibrated_request", limit: 10 });
  return { ...core, alerts, ask, raised };
}

describe("uncalibrated_request: services, not typos", () => {
  it("a person's lookup (a few requests within a minute or two, any client) raises nothing", async () => {
    const { ask, raised, advance } = setup();
    await ask(curl, 6, 5_000);
    advance(MINUTE);
    await ask(curl, 3, 1_000);
    expect(await raised()).toEqual([]);
  });

  it(`a service that keeps asking is raised at its ${UNCALIBRATED_ALERT_MIN_MINUTES}th distinct minute, naming the token and the client`, async () => {
    const { ask, raised } = setup();
    // every 30 s: two requests a minute, each minute written once by this isolate
    const notes = await ask(service, 2 * (UNCALIBRATED_ALERT_MIN_MINUTES - 1), 30_000);
    expect(notes.filter((n) => n === "recorded")).toHaveLength(UNCALIBRATED_ALERT_MIN_MINUTES - 1);
    expect(await raised()).toEqual([]);
    await ask(service, 1, 30_000);
    const [alert] = await raised();
    expect(alert).toMatchObject({
      kind: "uncalibrated_request",
      gate: { index: "docs", embedding: "e5", reranker: "bge-typo" },
      occurrences: 1,
      details: {
        index_version: "v3",
        token: "svc-a",
        client: "scoregate-langchain/0.1.0 scoregate-client/0.1.0",
        minutes: UNCALIBRATED_ALERT_MIN_MINUTES,
        window_minutes: UNCALIBRATED_ALERT_WINDOW_MINUTES,
      },
    });
    expect(alert!.summary).toContain('the token "svc-a" (client scoregate-langchain/0.1.0 scoregate-client/0.1.0)');
    expect(alert!.summary).toMatch(/running on its fallback$/u);
    // The 404 suggested nothing, so neither does the alert.
    expect(alert!.details).not.toHaveProperty("suggestions");
    expect(alert!.details).not.toHaveProperty("active_index_versions");
    // each further minute it keeps asking is an occurrence of the same alert
    await ask(service, 4, 30_000);
    expect((await raised())[0]).toMatchObject({ id: alert!.id, occurrences: 3 });
  });

  it(`names the calibrated gates the 404 suggested, the first ${MAX_ALERT_SUGGESTIONS}, in its details and its sentence`, async () => {
    const typo: ThresholdQuery = { index: "docz", embedding: "intfloat/e5-large-v2", reranker: "BAAI/bge-reranker-v2-m3" };
    const near = (index: string, embedding = typo.embedding): GateSuggestion => ({ index, embedding, reranker: typo.reranker });
    const suggested = [near("docs"), near("docz", "intfloat/e5-large-v3"), near("doc"), near("dogs"), near("faq")];
    expect(suggested.length).toBeGreaterThan(MAX_ALERT_SUGGESTIONS);
    const { ask, raised } = setup(suggested, typo);
    await ask(service, UNCALIBRATED_ALERT_MIN_MINUTES, MINUTE);
    const [alert] = await raised();
    expect(alert!.details.suggestions).toEqual(suggested.slice(0, MAX_ALERT_SUGGESTIONS));
    expect(alert!.summary).toMatch(/running on its fallback; did you mean index=docs or embedding=intfloat\/e5-large-v3 or index=doc\?$/u);
  });

  it("names the active versions of a gate that exists, when the version asked for is not active", async () => {
    const versions = ["green", "blue"].map((v): GateSuggestion => ({ index: "docs", embedding: "e5", reranker: "bge-typo", index_version: v }));
    const { ask, raised } = setup(versions);
    await ask(service, UNCALIBRATED_ALERT_MIN_MINUTES, MINUTE);
    const [alert] = await raised();
    expect(alert!.details.active_index_versions).toEqual(["green", "blue"]);
    expect(alert!.details).not.toHaveProperty("suggestions");
    expect(alert!.summary).toMatch(/; its active versions: did you mean index_version=green or index_version=blue\?$/u);
  });

  it("the CLI never counts, however often and however long it asks", async () => {
    const { ask, raised, alerts } = setup();
    const notes = await ask(cli, 40, 30_000);
    expect(new Set(notes)).toEqual(new Set(["person"]));
    expect(alerts.sightingWrites).toBe(0);
    expect(await raised()).toEqual([]);
  });

  it("counts per token, and only minutes within the window", async () => {
    const { ask, raised, advance } = setup();
    // two tokens, each in fewer than the minimum of minutes: no alert, though together they would reach it
    await ask(service, UNCALIBRATED_ALERT_MIN_MINUTES - 2, MINUTE);
    await ask({ ...curl, token: "svc-b" }, UNCALIBRATED_ALERT_MIN_MINUTES - 2, MINUTE);
    expect(await raised()).toEqual([]);
    // svc-a's minutes fall out of the window before it asks again
    advance(UNCALIBRATED_ALERT_WINDOW_MINUTES * MINUTE);
    await ask(service, 2, MINUTE);
    expect(await raised()).toEqual([]);
  });

  it("one write a minute per gate and token in an isolate, whatever the request rate", async () => {
    const { ask, alerts } = setup();
    await ask(service, 100, 100); // 100 requests in 10 s
    expect(alerts.sightingWrites).toBe(1);
  });
});

describe("fromPersonTool", () => {
  it("names the CLI by its product, wherever it stands, and nothing else", () => {
    expect(fromPersonTool("scoregate-cli/0.1.0")).toBe(true);
    expect(fromPersonTool("my-wrapper/2 scoregate-cli/0.1.0")).toBe(true);
    expect(fromPersonTool("Scoregate-CLI/1.0")).toBe(true);
    for (const ua of [
      null,
      "",
      "curl/8.11.1",
      "scoregate-client/0.1.0",
      "scoregate-python/0.1.0",
      "scoregate-clix/1",
      "Mozilla/5.0 (scoregate-cli/1)",
    ])
      expect(fromPersonTool(ua), String(ua)).toBe(false);
  });
});
