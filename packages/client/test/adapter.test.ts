// The step framework adapters share (src/adapter.ts, `@scoregate/client/adapter`), as an adapter of one's own uses it:
// a production step keeps what the gate keeps in the items' order, passes the query's assignment key, skips options it
// was not given and hands the decision to onResult; a shadow step returns the items unchanged after reporting the
// mirrored query for the shadows that sample its key, and reports nothing for a query without a key.
import { describe, expect, it } from "vitest";
import { checkStepOptions, gateStep } from "../src/adapter";
import { bucketOf } from "../src/assignment";
import { candidateGate, servingClient } from "./fake-server";

interface Chunk {
  id: string;
  score?: number;
}
const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
const candidate = candidateGate;
const rollout = { promotion_id: "prm_0000000001", step: 0, percent_bp: 10_000, salt: "prm_0000000001", state: "running", candidate };
const chunks: Chunk[] = [{ id: "a", score: 0.5 }, { id: "b" }, { id: "c", score: 0.9 }, { id: "d", score: 0 }];
const score = (c: Chunk) => c.score;

const setup = servingClient;

describe("gateStep, the step every adapter takes", () => {
  it("keeps what the gate keeps, in order, and tells onResult with the query", async () => {
    const { client, server } = setup();
    const seen: [string[], string][] = [];
    const kept = await gateStep(
      { client, gate: GATE, fallback: 0.1, onResult: (r, q) => seen.push([r.kept.map((c) => c.id), q]) },
      chunks,
      "q1",
      score,
    );
    // thresholdBody serves 0.42: "b" is unscored (kept by default), "d" scored 0 is a score and is dropped
    expect(kept.map((c) => c.id)).toEqual(["a", "b", "c"]);
    expect(seen).toEqual([[["a", "b", "c"], "q1"]]);
    await client.flush();
    // the counts are of the 3 scored chunks, the unscored "b" apart: [scored, dropped, below, abstained, unscored]
    expect(server.observationRequests()[0]!.body).toMatchObject({ calibration_id: "cal_0000000001", queries: [[3, 1, 1, 0, 1]] });
  });

  it("passes unscored, report and the query's assignment key to gate()", async () => {
    const { client, server } = setup({ rollout });
    const keyed = await gateStep(
      { client, gate: GATE, fallback: 0.1, unscored: "drop", report: false, assignmentKey: (q: string) => `user-${q}` },
      chunks,
      "7",
      score,
    );
    // the whole rollout is the candidate arm: its threshold 0.6 applies, and the unscored chunk is dropped
    expect(keyed.map((c) => c.id)).toEqual(["c"]);
    await client.flush();
    expect(server.observationRequests()).toHaveLength(0);
    // without a key the query is unassigned: control's 0.42
    const unkeyed = await gateStep({ client, gate: GATE, fallback: 0.1, assignmentKey: () => undefined }, chunks, "8", score);
    expect(unkeyed.map((c) => c.id)).toEqual(["a", "b", "c"]);
  });

  it("applies served (a getThreshold() answer, or a function of the query) instead of reading the threshold again", async () => {
    const { client, server } = setup({ rollout });
    // the application read the threshold with the user's key and retrieved from the candidate arm's index version
    const t = await client.getThreshold(GATE, { fallback: 0.1, assignmentKey: "user-7" });
    expect(t.promotion).toMatchObject({ arm: "candidate" });
    // no key in the step: read again, the query would be unassigned (control's 0.42); served keeps the candidate's 0.6
    const asValue = await gateStep({ client, gate: GATE, fallback: 0.1, served: t }, chunks, "7", score);
    expect(asValue.map((c) => c.id)).toEqual(["b", "c"]); // the unscored "b" is kept by default
    const asFunction = await gateStep({ client, gate: GATE, fallback: 0.1, served: (q: string) => (q === "7" ? t : undefined) }, chunks, "7", score);
    expect(asFunction.map((c) => c.id)).toEqual(["b", "c"]);
    // a function answering undefined reads the threshold as without served: unassigned, control's 0.42
    const unserved = await gateStep({ client, gate: GATE, fallback: 0.1, served: () => undefined }, chunks, "8", score);
    expect(unserved.map((c) => c.id)).toEqual(["a", "b", "c"]);
    await client.flush();
    const arms = server.observationRequests().flatMap((r) => (r.body as { promotion?: { arm: string } }).promotion?.arm ?? "none");
    expect(arms).toContain("candidate");
    expect(() => checkStepOptions({ client, gate: GATE, fallback: 0.1, served: "v2" }, "Adapter")).toThrow(
      "Adapter: options.served must be the getThreshold() answer the query was retrieved under, or a function of the query answering it",
    );
    expect(() => checkStepOptions({ client, gate: GATE, shadow: { key: () => "k" }, served: t }, "Adapter")).toThrow(/takes no served/u);
  });

  it("a shadow step returns the items unchanged and reports the mirrored query for the shadows that take its key", async () => {
    const shadowA = { ...candidate, calibration_id: "cal_0000000003", sample_rate: 1, since_seq: 4 };
    const shadowB = { ...candidate, calibration_id: "cal_0000000004", index_version: "v3", sample_rate: 1, since_seq: 5 };
    const { client, server } = setup({ shadows: [shadowA, shadowB] });
    const reported: [string[], string][] = [];
    const step = {
      client,
      gate: GATE,
      shadow: { key: (q: string) => (q === "nokey" ? undefined : q), indexVersion: "v2" },
      onShadow: (ids: string[], q: string) => reported.push([ids, q]),
    };
    expect(await gateStep(step, chunks, "user-1", score)).toBe(chunks);
    expect(await gateStep(step, chunks, "nokey", score)).toBe(chunks);
    expect(reported).toEqual([
      [["cal_0000000003"], "user-1"],
      [[], "nokey"],
    ]);
    expect(bucketOf("cal_0000000003", "user-1")).toBeLessThan(10_000);
    await client.flush();
    const batches = server.observationRequests().map((r) => r.body);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ calibration_id: "cal_0000000003", role: "shadow", queries: [[3, 2, 2, 0, 1]] });
  });
});
