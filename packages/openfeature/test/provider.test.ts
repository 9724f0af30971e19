// ScoregateProvider inside the real OpenFeature server SDK (one domain per test), against a scripted server.
import { ErrorCode, type EventDetails, OpenFeature, ProviderEvents, ServerProviderStatus, StandardResolutionReasons } from "@openfeature/server-sdk";
import { type GateKey, ScoregateClient } from "@scoregate/client";
import { afterAll, describe, expect, it } from "vitest";
import { bucketOf } from "../../client/src/assignment";
import { error, fakeServer, ok, thresholdBody } from "../../client/test/fake-server";
import openfeaturePackage from "../package.json";
import { MAX_REMEMBERED_FLAG_GATES, ScoregateProvider, servedBy } from "../src";
import { scriptedClient } from "./scripted-client";

const gate = { index: "docs", embedding: "e5", reranker: "bge" };
let domainCounter = 0;
const warnings: string[] = [];
// The provider logs why a flag answered its default; collected here instead of printed.
OpenFeature.setLogger({ error: () => {}, warn: (m: string) => warnings.push(m), info: () => {}, debug: () => {} });

async function setup(
  server: ReturnType<typeof fakeServer>,
  extra: Pick<ConstructorParameters<typeof ScoregateProvider>[0], "resolveGate"> = {},
  clientExtra: { maxGates?: number } = {},
  initFails = false,
) {
  const { client, advance, settle } = scriptedClient(server, 5, clientExtra);
  const provider = new ScoregateProvider({ client, gates: { "rag.docs.threshold": gate }, ...extra });
  const domain = `scoregate-test-${++domainCounter}`;
  // A provider that cannot evaluate its flags rejects initialize() (status ERROR): only where the test expects it.
  let initError: unknown;
  await OpenFeature.setProviderAndWait(domain, provider).catch((e: unknown) => {
    if (!initFails) throw e;
    initError = e;
  });
  if (initFails && initError === undefined) throw new Error("initialize() resolved where the test expects it to reject");
  const of = OpenFeature.getClient(domain);
  const events: { type: string; details: EventDetails | undefined }[] = [];
  for (const type of [ProviderEvents.ConfigurationChanged, ProviderEvents.Stale, ProviderEvents.Ready, ProviderEvents.Error])
    of.addHandler(type, (details) => events.push({ type, details }));
  // A READY handler added to a ready provider runs at once (OpenFeature spec 5.3.3): only later events count here.
  await new Promise((r) => setTimeout(r, 0));
  events.length = 0;
  return {
    of,
    initError,
    provider,
    client,
    events,
    advance,
    settle,
  };
}

afterAll(async () => {
  await OpenFeature.close();
});

describe("ScoregateProvider", () => {
  it("a flag key names a gate: CACHED after initialize, STALE past max-age, the calibration as variant and metadata", async () => {
    const server = fakeServer();
    const t = await setup(server);
    expect(server.requests).toHaveLength(1); // initialize() fetched the mapped gate
    const d = await t.of.getNumberDetails("rag.docs.threshold", 0.1);
    expect(d).toMatchObject({
      value: 0.42,
      reason: StandardResolutionReasons.CACHED,
      variant: "cal_0000000001",
      flagMetadata: { calibrationId: "cal_0000000001", indexVersion: "v1", expectedDropRate: 0.3, scoregateReason: "cached" },
    });
    expect(d.errorCode).toBeUndefined();
    t.advance(5001);
    expect((await t.of.getNumberDetails("rag.docs.threshold", 0.1)).reason).toBe(StandardResolutionReasons.STALE);
  });

  it("an unmapped flag is FLAG_NOT_FOUND with the default value", async () => {
    const t = await setup(fakeServer());
    const d = await t.of.getNumberDetails("something.else", 0.1);
    expect(d).toMatchObject({ value: 0.1, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND });
  });

  it("an uncalibrated gate is ERROR with FLAG_NOT_FOUND and the default value", async () => {
    const t = await setup(fakeServer(() => error(404, "uncalibrated")));
    const d = await t.of.getNumberDetails("rag.docs.threshold", 0.15);
    expect(d).toMatchObject({ value: 0.15, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(d.errorMessage).toContain("no active calibration");
  });

  it("an uncalibrated gate's errorMessage carries the server's word, its did-you-mean for a typo included", async () => {
    const message = "the gate doc / e5 / bge has no active calibration; did you mean index=docs? (see details.suggestions)";
    const body = JSON.stringify({ error: { code: "uncalibrated", message } });
    const t = await setup(fakeServer(() => new Response(body, { status: 404, headers: { "content-type": "application/json" } })));
    const d = await t.of.getNumberDetails("rag.docs.threshold", 0.15);
    expect(d).toMatchObject({ value: 0.15, errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(d.errorMessage).toBe(
      `gate of flag "rag.docs.threshold" has no active calibration (404 uncalibrated: ${message.replace(" (see details.suggestions)", "")})`,
    );
  });

  it("server down at startup: the provider is ERROR, and evaluations answer the default as an ERROR with GENERAL", async () => {
    const server = fakeServer(() => "network-error");
    const t = await setup(server, {}, {}, true);
    expect(t.provider.client).toBeInstanceOf(ScoregateClient);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.ERROR);
    expect(String(t.initError)).toMatch(/scoregate did not answer flag "rag\.docs\.threshold" \(network\): .*ECONNREFUSED/u);
    const hookErrors: unknown[] = [];
    const d = await t.of.getNumberDetails("rag.docs.threshold", 0.2, {}, { hooks: [{ error: (_ctx, e) => void hookErrors.push(e) }] });
    expect(d).toMatchObject({
      value: 0.2,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.GENERAL,
      flagMetadata: { scoregateReason: "fallback" },
    });
    expect(d.errorMessage).toMatch(/^scoregate did not answer flag "rag\.docs\.threshold" \(network\): .*ECONNREFUSED/u);
    expect(String(d.flagMetadata.error)).toContain("ECONNREFUSED");
    // Error hooks see the outage (a plain DEFAULT would have looked like a healthy evaluation).
    expect(hookErrors).toHaveLength(1);
    expect(warnings.some((w) => w.includes("answered its default"))).toBe(true);
    // It comes back: the first calibration is announced as a configuration change.
    server.set(() => ok(thresholdBody()));
    t.advance(2000);
    expect((await t.of.getNumberDetails("rag.docs.threshold", 0.2)).reason).toBe(StandardResolutionReasons.STATIC);
    await t.settle();
    // READY first, so the handlers of the change see a ready provider
    expect(t.events.map((e) => e.type)).toEqual([ProviderEvents.Ready, ProviderEvents.ConfigurationChanged]);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.READY);
  });

  it("a newly served calibration emits PROVIDER_CONFIGURATION_CHANGED for the flags of that gate", async () => {
    const server = fakeServer();
    const t = await setup(server);
    server.set(() => ok(thresholdBody("cal_0000000002", 0.55)));
    t.advance(5001);
    await t.of.getNumberDetails("rag.docs.threshold", 0.1);
    await t.settle();
    const changed = t.events.filter((e) => e.type === ProviderEvents.ConfigurationChanged);
    expect(changed).toHaveLength(1);
    expect(changed[0]!.details!.flagsChanged).toEqual(["rag.docs.threshold"]);
    expect(await t.of.getNumberDetails("rag.docs.threshold", 0.1)).toMatchObject({ value: 0.55, variant: "cal_0000000002" });
    // A 304 on the same calibration is not a change.
    server.set((req) => new Response(null, { status: 304, headers: { etag: req.headers.get("if-none-match")! } }));
    t.advance(5001);
    await t.of.getNumberDetails("rag.docs.threshold", 0.1);
    await t.settle();
    expect(t.events.filter((e) => e.type === ProviderEvents.ConfigurationChanged)).toHaveLength(1);
  });

  it("failures emit PROVIDER_STALE and keep serving the last value; recovery emits PROVIDER_READY", async () => {
    const server = fakeServer();
    const t = await setup(server);
    server.set(() => error(500, "internal"));
    t.advance(5001);
    await t.of.getNumberDetails("rag.docs.threshold", 0.1);
    await t.settle();
    expect(t.events.map((e) => e.type)).toEqual([ProviderEvents.Stale]);
    expect(await t.of.getNumberDetails("rag.docs.threshold", 0.1)).toMatchObject({ value: 0.42, reason: StandardResolutionReasons.STALE });
    server.set(() => ok(thresholdBody()));
    t.advance(2000);
    await t.of.getNumberDetails("rag.docs.threshold", 0.1);
    await t.settle();
    expect(t.events.map((e) => e.type)).toEqual([ProviderEvents.Stale, ProviderEvents.Ready]);
    expect((await t.of.getNumberDetails("rag.docs.threshold", 0.1)).reason).toBe(StandardResolutionReasons.CACHED);
  });

  it("a refused token emits PROVIDER_ERROR; the held value is still served (STALE)", async () => {
    const server = fakeServer();
    const t = await setup(server);
    server.set(() => error(401, "unauthorized"));
    t.advance(5001);
    await t.of.getNumberDetails("rag.docs.threshold", 0.1);
    await t.settle();
    expect(t.events.map((e) => e.type)).toEqual([ProviderEvents.Error]);
    expect(t.events[0]!.details!.message).toContain("401");
    t.advance(600_000);
    expect(await t.of.getNumberDetails("rag.docs.threshold", 0.1)).toMatchObject({ value: 0.42, reason: StandardResolutionReasons.STALE });
    expect(server.requests).toHaveLength(2);
  });

  it("other flag types are TYPE_MISMATCH", async () => {
    const t = await setup(fakeServer());
    expect(await t.of.getBooleanDetails("rag.docs.threshold", false)).toMatchObject({ value: false, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await t.of.getStringDetails("rag.docs.threshold", "x")).toMatchObject({ errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await t.of.getObjectDetails("rag.docs.threshold", {})).toMatchObject({ errorCode: ErrorCode.TYPE_MISMATCH });
  });

  it("the evaluation context may pin an index version; resolveGate maps other keys", async () => {
    const server = fakeServer();
    const t = await setup(server, {
      resolveGate: (key: string) => (key.startsWith("gate:") ? { embedding: "e5", reranker: key.slice(5) } : undefined),
    });
    await t.of.getNumberDetails("rag.docs.threshold", 0.1, { indexVersion: "v7" });
    expect(server.requests.at(-1)!.url.searchParams.get("index_version")).toBe("v7");
    await t.of.getNumberDetails("gate:BAAI/bge-reranker-v2-m3", 0.1);
    expect(server.requests.at(-1)!.url.searchParams.get("reranker")).toBe("BAAI/bge-reranker-v2-m3");
  });

  it("a flag read with and without a pinned index version is two gates: switching between them is no configuration change", async () => {
    const server = fakeServer((req) => ok(thresholdBody(req.url.searchParams.has("index_version") ? "cal_0000000002" : "cal_0000000001")));
    const t = await setup(server);
    for (let i = 0; i < 3; i++) {
      expect((await t.of.getNumberDetails("rag.docs.threshold", 0.1, { indexVersion: "v7" })).variant).toBe("cal_0000000002");
      expect((await t.of.getNumberDetails("rag.docs.threshold", 0.1)).variant).toBe("cal_0000000001");
    }
    const flagChanges = () =>
      t.events.filter(
        (e) => e.type === ProviderEvents.ConfigurationChanged && (e.details?.flagsChanged as string[] | undefined)?.includes("rag.docs.threshold"),
      );
    await t.settle();
    expect(flagChanges()).toEqual([]);
    // A new calibration of the pinned gate is still a change of the flag.
    server.set(() => ok(thresholdBody("cal_0000000003")));
    t.advance(5001);
    await t.of.getNumberDetails("rag.docs.threshold", 0.1, { indexVersion: "v7" });
    await t.settle();
    await t.of.getNumberDetails("rag.docs.threshold", 0.1, { indexVersion: "v7" });
    expect(flagChanges().map((e) => e.details?.message)).toEqual(["calibration cal_0000000002 -> cal_0000000003"]);
  });

  it("a null threshold (keep everything) is served as -Infinity", async () => {
    const t = await setup(fakeServer(() => ok(thresholdBody("cal_0000000001", null))));
    expect((await t.of.getNumberValue("rag.docs.threshold", 0.1)) <= -1e308).toBe(true);
  });

  it("reports observations through the client, under the calibration of the evaluation", async () => {
    const server = fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(thresholdBody())));
    const t = await setup(server);
    const d = await t.of.getNumberDetails("rag.docs.threshold", 0.1);
    t.provider.report("rag.docs.threshold", { calibrationId: d.variant ?? null, candidates: 20, dropped: 6 });
    await t.client.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({ calibration_id: "cal_0000000001", queries: [[20, 6]] });
  });

  it("during a promotion the metadata names the key's arm, and a report with servedBy(details) carries it", async () => {
    const candidate = { ...thresholdBody("cal_0000000002", 0.7), expected_drop_rate: 0.4 };
    const rollout = { promotion_id: "prm_0000000001", step: 1, percent_bp: 5000, salt: "prm_0000000001", state: "running", candidate };
    const body = thresholdBody("cal_0000000001", 0.5, { rollout } as never);
    const server = fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(body)));
    const t = await setup(server);
    const keys = Array.from({ length: 50 }, (_, i) => `user-${i}`);
    const inArm = keys.find((k) => bucketOf("prm_0000000001", k) < 5000)!;
    const outOfArm = keys.find((k) => bucketOf("prm_0000000001", k) >= 5000)!;
    const c = await t.of.getNumberDetails("rag.docs.threshold", 0.1, { targetingKey: inArm });
    expect(c).toMatchObject({ value: 0.7, variant: "cal_0000000002" });
    expect(c.flagMetadata).toMatchObject({ promotionId: "prm_0000000001", promotionStep: 1, promotionArm: "candidate" });
    expect(servedBy(c)).toEqual({ calibrationId: "cal_0000000002", promotion: { id: "prm_0000000001", step: 1, arm: "candidate" } });
    const control = await t.of.getNumberDetails("rag.docs.threshold", 0.1, { targetingKey: outOfArm });
    expect(servedBy(control)).toEqual({ calibrationId: "cal_0000000001", promotion: { id: "prm_0000000001", step: 1, arm: "control" } });
    t.provider.report("rag.docs.threshold", { ...servedBy(c), candidates: 20, dropped: 9 }, { targetingKey: inArm });
    t.provider.report("rag.docs.threshold", { ...servedBy(control), candidates: 20, dropped: 4 }, { targetingKey: outOfArm });
    await t.client.flush();
    const batches = server.observationRequests().map((r) => r.body as { calibration_id: string; promotion?: unknown; queries: unknown });
    expect(batches).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          calibration_id: "cal_0000000002",
          promotion: { id: "prm_0000000001", step: 1, arm: "candidate" },
          queries: [[20, 9]],
        }),
        expect.objectContaining({
          calibration_id: "cal_0000000001",
          promotion: { id: "prm_0000000001", step: 1, arm: "control" },
          queries: [[20, 4]],
        }),
      ]),
    );
    // outside a promotion there is no promotion to report; an evaluation that answered the default reports nothing
    const plain = await (await setup(fakeServer())).of.getNumberDetails("rag.docs.threshold", 0.1);
    expect(servedBy(plain)).toEqual({ calibrationId: "cal_0000000001" });
    expect(servedBy({ flagMetadata: { promotionId: "prm_0000000001", promotionStep: 1, promotionArm: "candidate" } })).toEqual({
      calibrationId: null,
    });
  });

  it("a report without a variant (the evaluation answered the default) is ignored, not counted against the gate", async () => {
    // scoregate is down: the evaluation answers the caller's default.
    const server = fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : error(503, "unavailable")));
    const t = await setup(server, {}, {}, true);
    warnings.length = 0;
    const d = await t.of.getNumberDetails("rag.docs.threshold", 0.1);
    expect(d).toMatchObject({ value: 0.1, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.GENERAL });
    expect(d.variant).toBeUndefined();
    expect(warnings).toHaveLength(1); // the provider said why it answered the default
    t.provider.report("rag.docs.threshold", { calibrationId: d.variant, candidates: 20, dropped: 6 });
    t.provider.report("rag.docs.threshold", { calibrationId: null, candidates: 20, dropped: 6 });
    // An unmapped flag without a calibration has nowhere to go either.
    t.provider.report("no.such.flag", { candidates: 20, dropped: 6 });
    await t.client.flush();
    expect(server.observationRequests()).toHaveLength(0);
    expect(t.client.observationStats()).toMatchObject({ queued: 0, ignored: 3 });
    // Leaving calibrationId out reports under the flag's gate on purpose.
    t.provider.report("rag.docs.threshold", { candidates: 4, dropped: 1 });
    await t.client.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({ embedding: "e5", reranker: "bge", queries: [[4, 1]] });
  });

  it("guards and the abstention cutoff travel in the flag metadata; a calibration without them adds none", async () => {
    const guarded = thresholdBody("cal_0000000001", 0.5, { guards: { min_keep: 1, max_keep: 5 }, abstain_below: 0.3 });
    const t = await setup(fakeServer(() => ok(guarded)));
    expect((await t.of.getNumberDetails("rag.docs.threshold", 0.1)).flagMetadata).toMatchObject({ minKeep: 1, maxKeep: 5, abstainBelow: 0.3 });
    const plain = await (await setup(fakeServer())).of.getNumberDetails("rag.docs.threshold", 0.1);
    expect(Object.keys(plain.flagMetadata).filter((k) => ["minKeep", "maxKeep", "abstainBelow"].includes(k))).toEqual([]);
  });

  it("provider.gate() applies a flag's threshold, guards and abstention; an unmapped flag applies the fallback alone", async () => {
    const guarded = thresholdBody("cal_0000000001", 0.8, { guards: { min_keep: 1, max_keep: null }, abstain_below: 0.4 });
    const server = fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(guarded)));
    const t = await setup(server);
    const score = (c: { s: number }) => c.s;
    const kept = await t.provider.gate("rag.docs.threshold", [{ s: 0.5 }, { s: 0.7 }], { score, fallback: 0.1 });
    expect(kept).toMatchObject({ kept: [{ s: 0.7 }], abstain: false, calibrationId: "cal_0000000001" });
    const none = await t.provider.gate("rag.docs.threshold", [{ s: 0.3 }, { s: 0.1 }], { score, fallback: 0.1 });
    expect(none).toMatchObject({ kept: [], abstain: true, abstainReason: "top score 0.3 is below abstain_below 0.4" });
    const unmapped = await t.provider.gate("no.such.flag", [{ s: 0.3 }, { s: 0.1 }], { score, fallback: 0.2 });
    expect(unmapped).toMatchObject({ kept: [{ s: 0.3 }], dropped: [{ s: 0.1 }], reason: "fallback", abstain: false, error: { code: "bad_request" } });
    // A score function that throws leaves its candidate unscored, mapped flag or not: gate() never rejects.
    const thrower = (c: { s?: number }) => {
      if (c.s === undefined) throw new TypeError("no score");
      return c.s;
    };
    const unscored = await t.provider.gate("no.such.flag", [{ s: 0.3 }, {}, { s: 0.1 }], { score: thrower, fallback: 0.2 });
    expect(unscored).toMatchObject({ kept: [{ s: 0.3 }, {}], dropped: [{ s: 0.1 }], unscored: 1 });
    const mapped = await t.provider.gate("rag.docs.threshold", [{ s: 0.9 }, {}], { score: thrower, fallback: 0.2, report: false });
    expect(mapped).toMatchObject({ kept: [{ s: 0.9 }, {}], unscored: 1 });
    await t.client.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({
      calibration_id: "cal_0000000001",
      queries: [
        [2, 1, 2, 0],
        [2, 1, 2, 1],
      ],
    });
  });

  it("provider.gate() from JavaScript without a fallback, or without options, keeps everything instead of throwing", async () => {
    const t = await setup(fakeServer(() => error(404, "uncalibrated")));
    const items = [{ s: 0.3 }, { s: 0.1 }];
    // Plain JavaScript passes what the types forbid: no fallback, a numeric string, no options object at all.
    const untyped = <T>(value: unknown): T => value as T;
    type Options = Parameters<typeof t.provider.gate<{ s: number }>>[2];
    for (const flag of ["rag.docs.threshold", "no.such.flag"]) {
      for (const fallback of [undefined, "0.2"]) {
        const r = await t.provider.gate(flag, items, untyped<Options>({ score: (c: { s: number }) => c.s, fallback }));
        expect(r).toMatchObject({ kept: items, dropped: [], threshold: null });
      }
      const bare = await t.provider.gate(flag, items, untyped<Options>(undefined));
      // No score function: every item is unscored, and kept.
      expect(bare).toMatchObject({ kept: items, threshold: null, unscored: 2 });
    }
  });

  it("closing OpenFeature closes a client the provider created (pending observations are flushed)", async () => {
    const server = fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(thresholdBody())));
    const provider = new ScoregateProvider({
      client: { baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } },
      gates: { g: gate },
    });
    await OpenFeature.setProviderAndWait("scoregate-owned", provider);
    provider.report("g", { calibrationId: "cal_0000000001", candidates: 5, dropped: 1 });
    await OpenFeature.clearProviders();
    expect(server.observationRequests()).toHaveLength(1);
    expect(provider.client.observationStats().sent).toBe(1);
  });
});

describe("User-Agent", () => {
  it("the provider names itself in front of the client it creates: scoregate-openfeature/<version>", async () => {
    const server = fakeServer(() => ok(thresholdBody()));
    const provider = new ScoregateProvider({ client: { baseUrl: "http://scoregate.test", token: "t", fetch: server.fetch }, gates: { f: gate } });
    await provider.initialize();
    expect(server.requests[0]!.headers.get("user-agent")).toMatch(
      new RegExp(`^scoregate-openfeature/${openfeaturePackage.version} scoregate-client/`, "u"),
    );
    await provider.onClose();
  });
});

describe("options and events a user meets", () => {
  it("options that cannot work throw a TypeError naming the option, before any request", () => {
    const server = fakeServer();
    const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
    const make = (o: unknown) => () => new ScoregateProvider(o as never);
    expect(make(undefined)).toThrow(new TypeError("ScoregateProvider: options are required: { client, gates }"));
    expect(make({ gates: { f: gate } })).toThrow(/options\.client must be a ScoregateClient or its options/u);
    expect(make({ client, gates: { "rag.docs": { index: "docs", embedding: "e5" } } })).toThrow(
      /options\.gates\["rag\.docs"\] must name a gate: \{ embedding, reranker, index\? \} \(got \{"index":"docs","embedding":"e5"\}\)/u,
    );
    expect(make({ client, gates: { f: { ...gate, indexVersion: "" } } })).toThrow(/options\.gates\["f"\]\.indexVersion must be a non-empty string/u);
    expect(make({ client, gates: { f: gate }, resolveGate: { f: gate } })).toThrow(/options\.resolveGate must be a function/u);
    expect(make({ client, gates: { f: gate }, nullThreshold: "-1" })).toThrow(/options\.nullThreshold must be a number/u);
    expect(make({ client, gates: { f: gate } })).not.toThrow();
    expect(server.requests).toHaveLength(0);
  });

  it("the first read of a resolveGate flag announces nothing; a later calibration of its gate names the flag, once", async () => {
    const server = fakeServer((req) => ok(thresholdBody(req.url.searchParams.get("reranker") === "ce" ? "cal_0000000005" : "cal_0000000001")));
    const t = await setup(server, { resolveGate: (key: string) => (key === "rag.ce" ? { embedding: "e5", reranker: "ce" } : undefined) });
    expect((await t.of.getNumberDetails("rag.ce", 0.1)).variant).toBe("cal_0000000005");
    await t.of.getNumberDetails("rag.docs.threshold", 0.1, { indexVersion: "v9" });
    await t.settle();
    expect(t.events.filter((e) => e.type === ProviderEvents.ConfigurationChanged)).toEqual([]);
    server.set(() => ok(thresholdBody("cal_0000000006")));
    t.advance(5001);
    await t.of.getNumberDetails("rag.ce", 0.1);
    await t.settle();
    await t.of.getNumberDetails("rag.ce", 0.1);
    const changed = t.events.filter((e) => e.type === ProviderEvents.ConfigurationChanged);
    expect(changed.map((e) => [e.details?.flagsChanged, e.details?.message])).toEqual([[["rag.ce"], "calibration cal_0000000005 -> cal_0000000006"]]);
  });

  it("remembers at most MAX_REMEMBERED_FLAG_GATES flag × gate pairs: a recently evaluated flag still gets its change", async () => {
    const server = fakeServer();
    // "rag.X" and "probe.X" read the same gate X; the client holds every gate, so only the provider forgets.
    const resolveGate = (key: string) => (/^(rag|probe)\./u.test(key) ? { embedding: "e5", reranker: key.split(".")[1]! } : undefined);
    const t = await setup(server, { resolveGate }, { maxGates: 2 * MAX_REMEMBERED_FLAG_GATES });
    await t.of.getNumberDetails("rag.hot", 0.1);
    await t.of.getNumberDetails("rag.cold", 0.1);
    // With the mapped flag's (read by initialize()), two pairs more than the bound: the least recently evaluated go,
    // the mapped flag's and "rag.cold", not "rag.hot" (read first, then again midway).
    for (let i = 0; i < MAX_REMEMBERED_FLAG_GATES - 1; i++) {
      await t.of.getNumberDetails(`rag.r${i}`, 0.1);
      if (i === MAX_REMEMBERED_FLAG_GATES / 2) await t.of.getNumberDetails("rag.hot", 0.1);
    }
    await t.settle();
    expect(t.events).toEqual([]);
    // A new calibration on both gates, found by another flag's evaluation: the change names the flags remembered.
    server.set(() => ok(thresholdBody("cal_0000000002", 0.55)));
    t.advance(5001);
    for (const flag of ["probe.hot", "probe.cold"]) {
      await t.of.getNumberDetails(flag, 0.1);
      await t.settle();
    }
    const changed = t.events.filter((e) => e.type === ProviderEvents.ConfigurationChanged);
    expect(changed.map((e) => e.details?.flagsChanged)).toEqual([["rag.hot", "probe.hot"], ["probe.cold"]]);
  });

  it("a broken resolveGate is GENERAL and a non-string indexVersion INVALID_CONTEXT, never a request; provider.gate() falls back", async () => {
    const server = fakeServer();
    const t = await setup(server, {
      resolveGate: (key: string) => {
        if (key === "rag.throws") throw new Error("naming scheme not loaded");
        return key === "rag.half" ? ({ embedding: "e5" } as GateKey) : undefined;
      },
    });
    const before = server.requests.length;
    expect(await t.of.getNumberDetails("rag.throws", 0.1)).toMatchObject({
      value: 0.1,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.GENERAL,
      errorMessage: 'resolveGate("rag.throws") threw: naming scheme not loaded',
    });
    expect(await t.of.getNumberDetails("rag.half", 0.1)).toMatchObject({
      errorCode: ErrorCode.GENERAL,
      errorMessage: 'resolveGate("rag.half") returned {"embedding":"e5"}, not a gate { embedding, reranker, index? }',
    });
    expect(await t.of.getNumberDetails("rag.docs.threshold", 0.1, { indexVersion: 7 })).toMatchObject({
      value: 0.1,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.INVALID_CONTEXT,
      errorMessage: "the evaluation context's indexVersion must be a string (got 7)",
    });
    expect(server.requests.length).toBe(before);
    const r = await t.provider.gate("rag.docs.threshold", [0.9, 0.05], { score: (x) => x, fallback: 0.1 }, { indexVersion: 7 });
    expect(r).toMatchObject({ kept: [0.9], reason: "fallback", error: { code: "bad_request", message: expect.stringContaining("indexVersion") } });
    // An empty indexVersion pins nothing: the flag's own gate answers.
    expect((await t.of.getNumberDetails("rag.docs.threshold", 0.1, { indexVersion: "" })).variant).toBe("cal_0000000001");
  });
});
