// The provider's status as the real OpenFeature server SDK keeps it (`client.providerStatus`) and the events an
// application's handlers see, from startup on: handlers are added before setProviderAndWait, so the startup events
// count too. A scripted server, one domain per test.
import { ErrorCode, OpenFeature, ProviderEvents, ServerProviderStatus, StandardResolutionReasons } from "@openfeature/server-sdk";
import { afterAll, describe, expect, it, vi } from "vitest";
import { error, fakeServer, ok, thresholdBody } from "../../client/test/fake-server";
import { ScoregateProvider } from "../src";
import { scriptedClient } from "./scripted-client";

const gate = { index: "docs", embedding: "e5", reranker: "bge" };
const FLAG = "rag.docs.threshold";
let domainCounter = 0;
OpenFeature.setLogger({ error: () => {}, warn: () => {}, info: () => {}, debug: () => {} });

afterAll(async () => {
  await OpenFeature.close();
});

const newClient = (server: ReturnType<typeof fakeServer>) => scriptedClient(server, 7);

/** Sets the provider and waits, with the handlers in place from the start; what setProviderAndWait rejected with. */
async function start(c: ReturnType<typeof newClient>) {
  const provider = new ScoregateProvider({ client: c.client, gates: { [FLAG]: gate } });
  const domain = `scoregate-status-${++domainCounter}`;
  const of = OpenFeature.getClient(domain);
  const events: { type: string; message: string | undefined }[] = [];
  for (const type of [ProviderEvents.Ready, ProviderEvents.Error, ProviderEvents.Stale, ProviderEvents.ConfigurationChanged])
    of.addHandler(type, (details) => events.push({ type, message: details?.message }));
  expect(of.providerStatus).toBe(ServerProviderStatus.NOT_READY);
  let rejected: unknown;
  await OpenFeature.setProviderAndWait(domain, provider).catch((e: unknown) => {
    rejected = e;
  });
  await c.settle();
  return { provider, of, events, rejected, types: () => events.map((e) => e.type) };
}

describe("provider status at startup", () => {
  it.each([
    [401, "unauthorized"],
    [403, "forbidden"],
  ])("a refused token (%i): setProviderAndWait rejects, the status is ERROR and stays so; no READY", async (status, code) => {
    const server = fakeServer(() => error(status, code));
    const c = newClient(server);
    const t = await start(c);
    expect(String(t.rejected)).toContain(`scoregate refused the token: ${status} ${code}`);
    expect(t.types()).toEqual([ProviderEvents.Error]);
    expect(t.events[0]!.message).toContain(`${status} ${code}`);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.ERROR);
    // Evaluations answer the default as an error, and the status does not move: the client sends nothing more.
    c.advance(600_000);
    const d = await t.of.getNumberDetails(FLAG, 0.1);
    expect(d).toMatchObject({ value: 0.1, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.GENERAL });
    await c.settle();
    expect(t.types()).toEqual([ProviderEvents.Error]);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.ERROR);
    expect(server.thresholdRequests()).toHaveLength(1);
  });

  it("server down: setProviderAndWait rejects, the status is ERROR until scoregate answers, then READY", async () => {
    const server = fakeServer(() => "network-error");
    const c = newClient(server);
    const t = await start(c);
    expect(String(t.rejected)).toMatch(/scoregate did not answer flag "rag\.docs\.threshold" \(network\): .*ECONNREFUSED/u);
    expect(t.types()).toEqual([ProviderEvents.Error]);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.ERROR);
    // Still down: the evaluation is an error, and the provider stays ERROR (nothing is held, so it is not STALE).
    c.advance(2000);
    expect(await t.of.getNumberDetails(FLAG, 0.1)).toMatchObject({ value: 0.1, errorCode: ErrorCode.GENERAL });
    await c.settle();
    expect(t.of.providerStatus).toBe(ServerProviderStatus.ERROR);
    expect(t.types()).toEqual([ProviderEvents.Error]);
    // Back: READY, then the first calibration as a change of the flag.
    server.set(() => ok(thresholdBody()));
    c.advance(600_000);
    await t.of.getNumberDetails(FLAG, 0.1);
    await c.settle();
    expect(t.types()).toEqual([ProviderEvents.Error, ProviderEvents.Ready, ProviderEvents.ConfigurationChanged]);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.READY);
    expect(await t.of.getNumberDetails(FLAG, 0.1)).toMatchObject({ value: 0.42, reason: StandardResolutionReasons.CACHED });
  });

  it("server down at startup, back later: READY without an evaluation (the gates are asked again in the background)", async () => {
    const server = fakeServer(() => "network-error");
    const c = newClient(server);
    const t = await start(c);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.ERROR);
    // an application or a readiness probe waiting for READY evaluates nothing meanwhile
    server.set(() => ok(thresholdBody()));
    c.advance(600_000);
    await vi.waitFor(() => expect(t.of.providerStatus).toBe(ServerProviderStatus.READY), { timeout: 10_000, interval: 20 });
    expect(t.types().slice(0, 2)).toEqual([ProviderEvents.Error, ProviderEvents.Ready]);
    expect(await t.of.getNumberDetails(FLAG, 0.1)).toMatchObject({ value: 0.42 });
  });

  it("a misconfigured flag (its gate refused with 400) is that flag's answer: READY, the other flags served", async () => {
    const server = fakeServer((req) => (req.url.searchParams.get("embedding") === "bad" ? error(400, "invalid_input") : ok(thresholdBody())));
    const c = newClient(server);
    const provider = new ScoregateProvider({ client: c.client, gates: { [FLAG]: gate, "rag.bad": { ...gate, embedding: "bad" } } });
    const domain = `scoregate-status-${++domainCounter}`;
    await OpenFeature.setProviderAndWait(domain, provider);
    const of = OpenFeature.getClient(domain);
    expect(of.providerStatus).toBe(ServerProviderStatus.READY);
    expect(await of.getNumberDetails(FLAG, 0.1)).toMatchObject({ value: 0.42 });
    expect(await of.getNumberDetails("rag.bad", 0.1)).toMatchObject({ value: 0.1, reason: StandardResolutionReasons.ERROR });
    expect(of.providerStatus).toBe(ServerProviderStatus.READY);
  });

  it("server down, then back with the gate uncalibrated: READY (the server answered; the flag is FLAG_NOT_FOUND)", async () => {
    const server = fakeServer(() => error(503, "unavailable"));
    const c = newClient(server);
    const t = await start(c);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.ERROR);
    server.set(() => error(404, "uncalibrated"));
    c.advance(600_000);
    expect(await t.of.getNumberDetails(FLAG, 0.1)).toMatchObject({ errorCode: ErrorCode.FLAG_NOT_FOUND });
    await c.settle();
    expect(t.types()).toEqual([ProviderEvents.Error, ProviderEvents.Ready]);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.READY);
  });

  it("server down, then back refusing the token: ERROR, and never READY", async () => {
    const server = fakeServer(() => "network-error");
    const c = newClient(server);
    const t = await start(c);
    server.set(() => error(401, "unauthorized"));
    c.advance(600_000);
    await t.of.getNumberDetails(FLAG, 0.1);
    await c.settle();
    expect(t.types()).toEqual([ProviderEvents.Error, ProviderEvents.Error]);
    expect(t.events[1]!.message).toContain("401 unauthorized");
    expect(t.of.providerStatus).toBe(ServerProviderStatus.ERROR);
  });

  it("an uncalibrated gate at startup is the server's answer: READY, the flag FLAG_NOT_FOUND", async () => {
    const c = newClient(fakeServer(() => error(404, "uncalibrated")));
    const t = await start(c);
    expect([t.rejected, t.types(), t.of.providerStatus]).toEqual([undefined, [ProviderEvents.Ready], ServerProviderStatus.READY]);
  });

  it("a value already held (a shared client) while the server is down: READY, then STALE when its refresh fails", async () => {
    const server = fakeServer();
    const c = newClient(server);
    await c.client.getThreshold(gate, { fallback: null });
    server.set(() => "network-error");
    c.advance(5001); // past max-age: served stale, refreshed in the background
    const t = await start(c);
    expect(t.rejected).toBeUndefined();
    expect(t.types()).toEqual([ProviderEvents.Ready, ProviderEvents.Stale]);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.STALE);
    expect(await t.of.getNumberDetails(FLAG, 0.1)).toMatchObject({ value: 0.42, reason: StandardResolutionReasons.STALE });
  });
});

describe("provider status after a healthy start", () => {
  it("READY; failures STALE (values served); back READY; a refused token ERROR, and it stays ERROR", async () => {
    const server = fakeServer();
    const c = newClient(server);
    const t = await start(c);
    expect([t.rejected, t.types(), t.of.providerStatus]).toEqual([undefined, [ProviderEvents.Ready], ServerProviderStatus.READY]);
    server.set(() => error(500, "internal"));
    c.advance(5001);
    await t.of.getNumberDetails(FLAG, 0.1);
    await c.settle();
    expect(t.of.providerStatus).toBe(ServerProviderStatus.STALE);
    server.set(() => ok(thresholdBody()));
    c.advance(2000);
    await t.of.getNumberDetails(FLAG, 0.1);
    await c.settle();
    expect(t.of.providerStatus).toBe(ServerProviderStatus.READY);
    server.set(() => error(401, "unauthorized"));
    c.advance(5001);
    await t.of.getNumberDetails(FLAG, 0.1);
    await c.settle();
    expect(t.types()).toEqual([ProviderEvents.Ready, ProviderEvents.Stale, ProviderEvents.Ready, ProviderEvents.Error]);
    expect(t.of.providerStatus).toBe(ServerProviderStatus.ERROR);
    // The held value is still served (not fatal), and the status does not move.
    expect(await t.of.getNumberDetails(FLAG, 0.1)).toMatchObject({ value: 0.42, reason: StandardResolutionReasons.STALE });
    await c.settle();
    expect(t.of.providerStatus).toBe(ServerProviderStatus.ERROR);
  });
});
