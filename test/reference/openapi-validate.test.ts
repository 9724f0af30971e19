// The OpenAPI document validates as 3.1, and it describes the pushed events: GateEvent, GateHeartbeat and the event
// kinds are components made from the contract's schemas, and the event streams' frames (x-itemSchema) reference them.
// Frames written by the server's own sseFrame() validate against what the document says, checked with ajv (JSON
// Schema 2020-12, the dialect of OpenAPI 3.1).
import { validate } from "@readme/openapi-parser";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { gateEventBody, withHeads, withSeq } from "../../src/calibrations/gate-event";
import { GATE_EVENT_KINDS, type GateHeartbeat, SSE_RETRY_MS, sseFrame, sseRetryFrame } from "../../src/contract";
import { openApiDocument } from "../../src/reference/openapi";

interface Doc {
  components: { schemas: Record<string, { enum?: string[]; properties?: Record<string, unknown> }> };
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, Record<string, unknown>> }> }>>;
}

const doc = openApiDocument() as Doc;

describe("the OpenAPI document", () => {
  it("validates as OpenAPI 3.1 with a maintained validator (@readme/openapi-parser)", async () => {
    const result = await validate(structuredClone(openApiDocument()) as Parameters<typeof validate>[0]);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });
});

/** The frames of a text/event-stream, as objects of their fields (`retry`, `id`, `event`, `data`). */
const framesOf = (stream: string) =>
  stream
    .split("\n\n")
    .filter((f) => f !== "")
    .map((f) => Object.fromEntries(f.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)])));

describe("the pushed events in the OpenAPI document", () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: "https://scoregate.test/openapi.json", components: doc.components });
  const component = (name: string) => ajv.getSchema(`https://scoregate.test/openapi.json#/components/schemas/${name}`)!;
  const served = withHeads(
    {
      index: "docs",
      embedding: "e5",
      reranker: "bge",
      threshold: 0.42,
      calibration_id: "cal_0000000001",
      index_version: "v1",
      policy: { kind: "drop_rate", target: 0.3 },
      score_scale: "unbounded",
      expected_drop_rate: 0.3,
      fitted_at: "2026-01-01T00:00:00.000Z",
      activated_at: "2026-01-01T00:00:00.000Z",
      guards: { min_keep: 1, max_keep: null },
      abstain_below: 0.1,
    },
    {
      rollout: null,
      shadows: [
        {
          calibration_id: "cal_0000000002",
          index_version: "v2",
          threshold: 0.5,
          expected_drop_rate: 0.3,
          guards: { min_keep: 0, max_keep: null },
          abstain_below: null,
          sample_rate: 0.2,
          since_seq: 0,
        },
      ],
    },
  );
  const common = { gateId: "0".repeat(32), at: "2026-01-02T00:00:00.000Z", actor: "admin", reason: null, calibrationId: "cal_0000000002" };
  const added = withSeq(gateEventBody({ ...common, kind: "shadow_added", prevSeq: 3, served, details: { sample_rate: 0.2 } }), 7);
  const step = withSeq(
    gateEventBody({
      ...common,
      kind: "promotion_step",
      prevSeq: 7,
      served: null,
      promotion: { id: "prm_1", state: "running", step: 1, percent: 50 },
    }),
    9,
  );
  const beat: GateHeartbeat = { v: 1, head_seq: 9, at: "2026-01-02T00:00:15.000Z" };

  it("names GateEventKind, GateEvent and GateHeartbeat in components, made from the contract's schemas", () => {
    const s = doc.components.schemas;
    expect(Object.keys(s).sort()).toEqual(expect.arrayContaining(["GateEvent", "GateEventKind", "GateHeartbeat"]));
    expect(s.GateEventKind!.enum).toEqual([...GATE_EVENT_KINDS]);
    expect(s.GateEvent!.properties!.kind).toEqual({ $ref: "#/components/schemas/GateEventKind" });
    expect(Object.keys(s.GateHeartbeat!.properties!).sort()).toEqual(["at", "head_seq", "v"]);
  });

  it("the components accept the events the server writes and refuse broken ones", () => {
    for (const e of [added, step]) expect(component("GateEvent")(e), JSON.stringify(component("GateEvent").errors)).toBe(true);
    expect(component("GateHeartbeat")(beat)).toBe(true);
    const broken: [string, unknown][] = [
      ["GateEvent", { ...added, kind: "renamed" }],
      ["GateEvent", { ...added, seq: 0 }],
      ["GateEvent", { ...step, served: { threshold: 0.4 } }],
      ["GateHeartbeat", { ...beat, head_seq: -1 }],
    ];
    expect(broken.map(([name, e]) => component(name)(e))).toEqual([false, false, false, false]);
  });

  for (const path of ["/v1/events", "/v1/gates/{gate_id}/events"]) {
    it(`${path}: every frame of a real stream matches x-itemSchema, and each frame's data its contentSchema`, () => {
      const media = doc.paths[path]!.get!.responses["200"]!.content!["text/event-stream"]!;
      expect(media.schema).toMatchObject({ type: "string" });
      const item = ajv.compile({ $ref: "#/x", x: media["x-itemSchema"], components: doc.components });
      const stream = sseRetryFrame() + sseFrame("gate", added, added.seq) + sseFrame("snapshot", step, step.seq) + sseFrame("heartbeat", beat);
      const frames = framesOf(stream);
      expect(frames.map((f) => f.event ?? `retry ${f.retry}`)).toEqual([`retry ${SSE_RETRY_MS}`, "gate", "snapshot", "heartbeat"]);
      const oneOf = (media["x-itemSchema"] as { oneOf: { properties: Record<string, { const?: unknown; contentSchema?: { $ref: string } }> }[] })
        .oneOf;
      for (const f of frames) {
        const frame = f.retry === undefined ? f : { retry: Number(f.retry) };
        expect(item(frame), JSON.stringify([frame, item.errors])).toBe(true);
        if (f.event === undefined) continue;
        const target = oneOf.find((o) => o.properties.event?.const === f.event)!.properties.data!.contentSchema!.$ref;
        expect(target).toBe(`#/components/schemas/${f.event === "heartbeat" ? "GateHeartbeat" : "GateEvent"}`);
        expect(component(target.split("/").at(-1)!)(JSON.parse(f.data!))).toBe(true);
      }
      // a frame that names no known event, or a gate frame without its id, is not one the document allows
      expect(item({ event: "gate", data: "{}" })).toBe(false);
      expect(item({ event: "renamed", id: "1", data: "{}" })).toBe(false);
    });
  }
});
