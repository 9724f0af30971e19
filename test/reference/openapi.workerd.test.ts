import { describe, expect, it } from "vitest";
import * as S from "../../src/contract";
import { app } from "../../src/worker/app";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

/** The parts of the OpenAPI document these tests read (the document itself is checked against the route table). */
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { "x-scope"?: string; tags?: string[] }>>;
  tags: { name: string; description: string }[];
}

describe("GET /openapi.json", () => {
  it("documents exactly the routes the app registers (both directions), including / and /openapi.json", async () => {
    const doc = (await callJson("GET", "/openapi.json", 200, { token: null })) as OpenApiDocument;
    const documented = new Set<string>();
    for (const [path, methods] of Object.entries<any>(doc.paths)) for (const m of Object.keys(methods)) documented.add(`${m.toUpperCase()} ${path}`);
    // The dashboard (/ui...) and the API reference page (/docs...) are HTML for people, not API operations: they are
    // not in the route table nor in the document (src/dashboard/routes.tsx). Static assets never reach the app.
    const notApi = (path: string) => path === "/ui" || path.startsWith("/ui/") || path === "/docs" || path.startsWith("/docs/");
    const registered = new Set(
      app.routes.filter((r) => r.method !== "ALL" && !notApi(r.path)).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    expect([...registered].sort()).toEqual([...documented].sort());
    expect(documented).toContain("GET /");
    expect(documented).toContain("GET /openapi.json");
    // every authenticated operation names its scope, and the route table and the document agree on it
    for (const spec of Object.values(S.ROUTES)) {
      const op = doc.paths[spec.path]?.[spec.method];
      expect(op?.["x-scope"] ?? null, `${spec.method} ${spec.path}`).toBe(spec.scope);
    }
  });

  it("puts every operation in one of the reference's groups, each group used and described, in the table's order", async () => {
    const doc = (await callJson("GET", "/openapi.json", 200, { token: null })) as OpenApiDocument;
    expect(doc.tags.map((t) => t.name)).toEqual(Object.values(S.ROUTE_TAGS).map((t) => t.name));
    for (const t of doc.tags) expect(t.description.length, t.name).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const spec of Object.values(S.ROUTES)) {
      const tags = doc.paths[spec.path]?.[spec.method]?.tags;
      expect(tags, `${spec.method} ${spec.path}`).toEqual([S.ROUTE_TAGS[spec.tag].name]);
      used.add(tags![0]!);
    }
    expect([...used].sort()).toEqual(doc.tags.map((t) => t.name).sort());
  });

  it("every documented route exists and enforces its documented scope", async () => {
    const doc = (await callJson("GET", "/openapi.json", 200, { token: null })) as OpenApiDocument;
    expect(doc.openapi).toBe("3.1.0");
    const operations: [string, string][] = [];
    for (const [path, methods] of Object.entries<any>(doc.paths)) for (const m of Object.keys(methods)) operations.push([m.toUpperCase(), path]);
    expect(operations.length).toBeGreaterThanOrEqual(19);
    for (const [method, path] of operations) {
      const url = path.replace(/\{id\}/g, "cal_000000000000aaaaaaaaaaaaaaaa");
      const res = await call(method, url);
      const text = await res.text();
      expect(text.includes("no route for"), `${method} ${path}`).toBe(false);
      const scope = doc.paths[path]?.[method.toLowerCase()]?.["x-scope"] as "read" | "calibrate" | "admin" | undefined;
      if (scope === undefined) continue;
      expect((await call(method, url, { token: null })).status, `${method} ${path} without a token`).toBe(401);
      const below = scope === "admin" ? TOKENS.calibrate : scope === "calibrate" ? TOKENS.read : null;
      if (below !== null) expect((await call(method, url, { token: below })).status, `${method} ${path} with a lower scope`).toBe(403);
    }
  });

  it("responses conform to the schemas the document is derived from", async () => {
    const gate = uniqueGate("schema");
    const created = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v1",
        queries: [spreadScores(20), spreadScores(20, 0.1, 0.8)],
        policy: { kind: "drop_rate", target: 0.25 },
        activate: true,
      },
    });
    S.CalibrationCreated.parse(created);
    S.ThresholdResponse.parse(await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read }));
    S.CalibrationHistory.parse(await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200));
    S.GateList.parse(await callJson("GET", "/v1/gates", 200));
    S.ActivationResult.parse(await callJson("POST", `/v1/calibrations/${created.calibration.id}/activate`, 200));
    S.ObservationAccepted.parse(
      await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "s1", ...gate, queries: [[20, 5]] } }),
    );
    S.MonitorStatus.parse(await callJson("GET", `/v1/monitor?${qs(gate)}`, 200));
    S.AlertList.parse(await callJson("GET", "/v1/alerts", 200));
    S.ErrorResponse.parse(await callJson("GET", "/v1/threshold?embedding=x", 400, { token: TOKENS.read }));
  });
});
