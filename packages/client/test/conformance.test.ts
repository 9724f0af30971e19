// The client conformance cases (fixtures/client-behaviour.json), which the Python clients run too
// (python/tests/test_conformance.py): a scripted server, an injected clock, and the answers, requests and listener
// events both clients must produce. The format is described in fixtures/client-behaviour.md.
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type FlushResult, type GateKey, ScoregateClient, type ScoregateClientOptions, type Snapshot, type ThresholdResult } from "../src";
import { restore } from "../src/snapshot";

interface FixtureGate {
  index?: string;
  embedding: string;
  reranker: string;
  index_version?: string;
}

interface Answer {
  status?: number;
  calibration_id?: string;
  threshold?: number | null;
  guards?: { min_keep: number; max_keep: number | null };
  abstain_below?: number | null;
  error?: string;
  headers?: Record<string, string | null>;
  text?: string;
  json?: unknown;
  fail?: "network" | "timeout";
  delay_ms?: number;
}

interface ExpectedRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
  authorization?: string;
  if_none_match?: string | null;
  body?: Record<string, unknown>;
  batch_id?: "new" | { same_as: number };
}

interface ClientSettings {
  timeout_ms?: number;
  backoff_initial_ms?: number;
  backoff_max_ms?: number;
  random?: number;
  max_stale_ms?: number;
  batch_size?: number;
  max_queued?: number;
  max_scores?: number;
  bootstrap?: { gate?: FixtureGate; threshold: number | null; calibration_id: string; etag: string | null; fetched_at: number }[];
}

interface Step {
  at?: number;
  server?: { threshold?: Answer | Answer[]; observations?: Answer | Answer[] };
  get?: { fallback: number | null; gate?: FixtureGate; timeout_ms?: number; concurrent?: number };
  gate?: { scores: (number | null)[] | null; fallback: number | null; unscored?: "keep" | "drop"; report_scores?: boolean; report?: boolean };
  report?: {
    calibration_id?: string;
    gate?: FixtureGate;
    candidates: number;
    dropped: number;
    scores?: number[];
    below?: number;
    abstained?: boolean;
    unscored?: number;
  };
  flush?: Record<string, never>;
  close?: Record<string, never>;
  expect?: Record<string, unknown>;
  requests?: ExpectedRequest[];
  events?: Record<string, unknown>[];
  stats?: Record<string, unknown>;
  auth_error?: string | null;
}

interface Fixture {
  version: 1;
  defaults: {
    epoch_ms: number;
    base_url: string;
    token: string;
    gate: FixtureGate;
    client: ClientSettings;
    cache_control: string;
    threshold_body: Record<string, unknown>;
  };
  cases: { name: string; client?: ClientSettings; steps: Step[] }[];
}

interface Recorded {
  method: string;
  url: URL;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

const fixture = JSON.parse(readFileSync(new URL("../../../fixtures/client-behaviour.json", import.meta.url), "utf8")) as Fixture;
const { defaults } = fixture;

function toGateKey(g: FixtureGate): GateKey {
  const key: GateKey = { embedding: g.embedding, reranker: g.reranker };
  if (g.index !== undefined) key.index = g.index;
  if (g.index_version !== undefined) key.indexVersion = g.index_version;
  return key;
}

/** The default body with this calibration, threshold and (when the answer gives them) guard fields. */
function thresholdBody(calibrationId: string, threshold: number | null, answer: Answer = {}) {
  const guardFields = Object.fromEntries(
    Object.entries({ guards: answer.guards, abstain_below: answer.abstain_below }).filter(([, v]) => v !== undefined),
  );
  return {
    ...defaults.threshold_body,
    calibration_id: calibrationId,
    threshold,
    ...guardFields,
  } as unknown as Snapshot["entries"][number]["response"];
}

/** Guards in the fixture's words. */
const guardsView = (g: { minKeep: number; maxKeep: number | null }) => ({ min_keep: g.minKeep, max_keep: g.maxKeep });

function toResponse(answer: Answer, request: Recorded): Response {
  const headers = new Headers();
  let body: string | null = null;
  const status = answer.status ?? 200;
  if (answer.text !== undefined) body = answer.text;
  else if (answer.json !== undefined) body = JSON.stringify(answer.json);
  else if (answer.error !== undefined) body = JSON.stringify({ error: { code: answer.error, message: `${answer.error} (conformance)` } });
  else if (status === 200 && answer.calibration_id !== undefined) {
    body = JSON.stringify(thresholdBody(answer.calibration_id, answer.threshold ?? null, answer));
    headers.set("etag", `"${answer.calibration_id}"`);
    headers.set("cache-control", defaults.cache_control);
  } else if (status === 304) {
    headers.set("etag", request.headers.get("if-none-match") ?? "");
    headers.set("cache-control", defaults.cache_control);
  }
  if (body !== null) headers.set("content-type", "application/json");
  for (const [name, value] of Object.entries(answer.headers ?? {})) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  return new Response(status === 304 ? null : body, { status, headers });
}

/** A scripted server: each path answers from its list (one per request, the last one repeating). */
function scriptedServer() {
  const answers: { threshold: Answer[]; observations: Answer[] } = { threshold: [], observations: [] };
  const recorded: Recorded[] = [];
  const unexpected: string[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const request: Recorded = {
      method: init.method ?? "GET",
      url: new URL(String(input)),
      headers: new Headers(init.headers),
      body: typeof init.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : undefined,
    };
    recorded.push(request);
    const kind = request.url.pathname === "/v1/threshold" ? "threshold" : request.url.pathname === "/v1/observations" ? "observations" : null;
    const list = kind === null ? [] : answers[kind];
    const answer = list.length > 1 ? list.shift() : list[0];
    if (answer === undefined) {
      unexpected.push(`${request.method} ${request.url.pathname}`);
      throw new TypeError(`no answer scripted for ${request.method} ${request.url.pathname}`);
    }
    if (answer.delay_ms !== undefined) await new Promise((resolve) => setTimeout(resolve, answer.delay_ms));
    if (answer.fail === "network") throw new TypeError("fetch failed: connect ECONNREFUSED 127.0.0.1:8787");
    if (answer.fail === "timeout") {
      return new Promise<Response>((_, reject) => {
        init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    }
    return toResponse(answer, request);
  }) as typeof fetch;
  return {
    fetch: fetchFn,
    recorded,
    unexpected,
    script(server: NonNullable<Step["server"]>) {
      if (server.threshold !== undefined) answers.threshold = ([] as Answer[]).concat(server.threshold);
      if (server.observations !== undefined) answers.observations = ([] as Answer[]).concat(server.observations);
    },
  };
}

function clientOptions(settings: ClientSettings, server: ReturnType<typeof scriptedServer>, waitUntil: (p: Promise<unknown>) => void) {
  const random = settings.random ?? 0.5;
  const options: ScoregateClientOptions = {
    baseUrl: defaults.base_url,
    token: defaults.token,
    fetch: server.fetch,
    random: () => random,
    waitUntil,
    observations: { timer: false },
  };
  if (settings.timeout_ms !== undefined) options.timeoutMs = settings.timeout_ms;
  options.backoff = {};
  if (settings.backoff_initial_ms !== undefined) options.backoff.initialMs = settings.backoff_initial_ms;
  if (settings.backoff_max_ms !== undefined) options.backoff.maxMs = settings.backoff_max_ms;
  if (settings.max_stale_ms !== undefined) options.maxStaleMs = settings.max_stale_ms;
  if (settings.batch_size !== undefined) options.observations!.batchSize = settings.batch_size;
  if (settings.max_queued !== undefined) options.observations!.maxQueued = settings.max_queued;
  if (settings.max_scores !== undefined) options.observations!.maxScores = settings.max_scores;
  return options;
}

/** The case's `bootstrap` setting as the snapshot a service restores right after constructing its client. */
function bootstrapOf(settings: ClientSettings): Snapshot | undefined {
  if (settings.bootstrap === undefined) return undefined;
  return {
    version: 1,
    savedAt: defaults.epoch_ms,
    entries: settings.bootstrap.map((e) => ({
      gate: toGateKey(e.gate ?? defaults.gate),
      response: thresholdBody(e.calibration_id, e.threshold),
      etag: e.etag,
      fetchedAt: defaults.epoch_ms + e.fetched_at,
    })),
  };
}

/** The language-neutral view of a threshold answer, restricted to the keys the case expects. */
function thresholdView(r: ThresholdResult, keys: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = {
    reason: r.reason,
    threshold: r.threshold,
    guards: guardsView(r.guards),
    abstain_below: r.abstainBelow,
    calibration_id: r.calibrationId,
    index_version: r.indexVersion,
    expected_drop_rate: r.expectedDropRate,
    fetched_at: r.fetchedAt === null ? null : r.fetchedAt - defaults.epoch_ms,
    error: r.error?.code ?? null,
    error_status: r.error?.status ?? null,
    retry_after_ms: r.error?.retryAfterMs ?? null,
  };
  return Object.fromEntries(keys.map((k) => [k, all[k]]));
}

function flushView(r: FlushResult, keys: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = { sent_batches: r.sentBatches, failed_batches: r.failedBatches };
  return Object.fromEntries(keys.map((k) => [k, all[k]]));
}

function requestView(r: Recorded, expected: ExpectedRequest, posts: Recorded[]): Record<string, unknown> {
  const view: Record<string, unknown> = { method: r.method, path: r.url.pathname };
  if (expected.query !== undefined) view.query = Object.fromEntries(r.url.searchParams);
  if (expected.authorization !== undefined) view.authorization = r.headers.get("authorization");
  if (expected.if_none_match !== undefined) view.if_none_match = r.headers.get("if-none-match");
  if (expected.body !== undefined) {
    const { batch_id: _, ...rest } = r.body ?? {};
    view.body = rest;
  }
  if (expected.batch_id !== undefined) {
    const index = posts.indexOf(r);
    const earlier = posts.slice(0, index).findIndex((p) => p.body?.batch_id === r.body?.batch_id);
    view.batch_id = earlier === -1 ? "new" : { same_as: earlier };
  }
  return view;
}

beforeEach(() => {
  vi.useFakeTimers({ now: defaults.epoch_ms });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("client conformance (fixtures/client-behaviour.json)", () => {
  it("has cases", () => {
    expect(fixture.version).toBe(1);
    expect(fixture.cases.length).toBeGreaterThan(20);
  });

  for (const c of fixture.cases) {
    it(c.name, async () => {
      const server = scriptedServer();
      const background = new Set<Promise<void>>();
      const waitUntil = (p: Promise<unknown>) => {
        const forget = () => {
          background.delete(tracked);
        };
        const tracked: Promise<void> = p.then(forget, forget);
        background.add(tracked);
      };
      const settings = { ...defaults.client, ...c.client };
      const client = new ScoregateClient(clientOptions(settings, server, waitUntil));
      restore(client, bootstrapOf(settings));
      // Every announced change, as the language-neutral view `events` compares (fixtures/client-behaviour.md).
      const events: Record<string, unknown>[] = [];
      client.subscribe((e) => {
        const view: Record<string, unknown> = { type: e.type };
        if (e.type === "calibration") Object.assign(view, { calibration_id: e.calibrationId, previous_calibration_id: e.previousCalibrationId });
        if ((e.type === "error" || e.type === "uncalibrated") && e.error) view.error = e.error.code;
        events.push(view);
      });
      let told = 0;
      /** Runs timers until the call and every piece of background work it started are done (timeouts included). */
      const settle = async <T>(work: Promise<T>): Promise<T> => {
        let done = false;
        let value: T | undefined;
        void work.then((v) => {
          done = true;
          value = v;
        });
        for (let i = 0; i < 50; i++) {
          await vi.advanceTimersByTimeAsync(0);
          if (done && background.size === 0) return value as T;
          await vi.advanceTimersToNextTimerAsync();
        }
        throw new Error("the step did not settle");
      };
      let checked = 0;
      for (const [i, step] of c.steps.entries()) {
        const label = `${c.name}, step ${i + 1}`;
        if (step.at !== undefined) {
          const target = defaults.epoch_ms + step.at;
          if (target < Date.now()) throw new Error(`${label}: at ${step.at} is in the past (now ${Date.now() - defaults.epoch_ms})`);
          await vi.advanceTimersByTimeAsync(target - Date.now());
        }
        const keys = Object.keys(step.expect ?? {});
        if (step.server !== undefined) server.script(step.server);
        else if (step.get !== undefined) {
          const get = step.get;
          const options = { fallback: get.fallback, ...(get.timeout_ms === undefined ? {} : { timeoutMs: get.timeout_ms }) };
          const gate = toGateKey(get.gate ?? defaults.gate);
          const results = await settle(Promise.all(Array.from({ length: get.concurrent ?? 1 }, () => client.getThreshold(gate, options))));
          for (const r of results) expect(thresholdView(r, keys), label).toEqual(step.expect);
        } else if (step.gate !== undefined) {
          const g = step.gate;
          // null scores: candidates that are not an array, as a reranker wrapper's null on its own failure
          const candidates =
            g.scores === null ? (null as unknown as { index: number; score: number | null }[]) : g.scores.map((score, index) => ({ index, score }));
          const r = await settle(
            client.gate(candidates, {
              gate: toGateKey(defaults.gate),
              fallback: g.fallback,
              score: (x) => x.score,
              ...(g.unscored === undefined ? {} : { unscored: g.unscored }),
              ...(g.report_scores === undefined ? {} : { reportScores: g.report_scores }),
              ...(g.report === undefined ? {} : { report: g.report }),
            }),
          );
          const all: Record<string, unknown> = {
            kept: r.kept.map((x) => x.index),
            dropped: r.dropped.map((x) => x.index),
            unscored: r.unscored,
            abstain: r.abstain,
            top_score: r.topScore,
            guards: guardsView(r.guards),
            abstain_below: r.abstainBelow,
            reason: r.reason,
            threshold: r.threshold,
            calibration_id: r.calibrationId,
            error: r.error?.code ?? null,
          };
          expect(Object.fromEntries(keys.map((k) => [k, all[k]])), label).toEqual(step.expect);
        } else if (step.report !== undefined) {
          const o = step.report;
          client.report({
            candidates: o.candidates,
            dropped: o.dropped,
            ...(o.calibration_id === undefined ? {} : { calibrationId: o.calibration_id }),
            ...(o.gate === undefined ? {} : { gate: toGateKey(o.gate) }),
            ...(o.scores === undefined ? {} : { scores: o.scores }),
            ...(o.below === undefined ? {} : { below: o.below }),
            ...(o.abstained === undefined ? {} : { abstained: o.abstained }),
            ...(o.unscored === undefined ? {} : { unscored: o.unscored }),
          });
          await settle(Promise.resolve());
        } else if (step.flush !== undefined || step.close !== undefined) {
          const r = await settle(step.flush !== undefined ? client.flush() : client.close());
          expect(flushView(r, keys), label).toEqual(step.expect ?? {});
        } else throw new Error(`${label}: no action`);

        expect(server.unexpected, `${label}: requests nothing was scripted for`).toEqual([]);
        // The requests of a step: those sent since the last get, gate, flush or close (a report may send a full batch
        // at once or leave it to the next flush: either way its requests are checked with the next such step).
        const sent = server.recorded.slice(checked);
        if (step.report === undefined && step.server === undefined) checked = server.recorded.length;
        const newEvents = events.slice(told);
        if (step.report === undefined && step.server === undefined) told = events.length;
        if (step.events !== undefined) expect(newEvents, `${label}: events`).toEqual(step.events);
        if (step.requests !== undefined) {
          const posts = server.recorded.filter((r) => r.method === "POST");
          const expected = step.requests;
          expect(
            sent.map((r, j) => requestView(r, expected[j] ?? { method: "", path: "" }, posts)),
            `${label}: requests`,
          ).toEqual(expected);
        }
        if (step.stats !== undefined) {
          const s = client.observationStats();
          const all: Record<string, unknown> = {
            queued: s.queued,
            sent: s.sent,
            rejected: s.rejected,
            ignored: s.ignored,
            dropped_for_memory: s.droppedForMemory,
            last_error: s.lastError?.code ?? null,
          };
          expect(Object.fromEntries(Object.keys(step.stats).map((k) => [k, all[k]])), `${label}: stats`).toEqual(step.stats);
        }
        if (step.auth_error !== undefined) expect(client.authError?.code ?? null, `${label}: auth_error`).toBe(step.auth_error);
      }
    });
  }
});
