/**
 * The GateMonitor's numbered migrations (src/monitoring/gate-monitor/migrations.ts) on objects that already hold
 * production data: one created by the schema before batches had a content hash, and one created by the schema of
 * the object before migrations were numbered (no ledger). Their data survives, their batch ids still deduplicate,
 * and a migrated object runs no migration twice.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MONITOR_MIGRATIONS } from "../../src/monitoring/gate-monitor/migrations";
import type { JudgeInput } from "../../src/monitoring/monitor-contract";
import type { GateMonitor } from "../../src/worker/gate-monitor";
import { batch, steady, T0 } from "../support/monitor-batches";
import { type MonitorStub, monitorStubs } from "../support/monitor-stubs";

const { monitor, drain } = monitorStubs("migrate");
afterEach(drain);

/** A judged batch of a recall calibration, for the object's judgment ledger. */
const judgment = (gateId: string, batchId: string, nowMs: number, hash: string): JudgeInput => ({
  gate: { gate_id: gateId, index: "docs", embedding: "e5", reranker: "bge" },
  calibration: { id: `cal_${gateId}_recall`, index_version: "v1", coverage: "any_relevant", target: 0.9, bound: 0.9, n: 500, miss_mass: 50 },
  batch_id: batchId,
  batch_hash: hash,
  covered: [1, 1, 0, 1],
  without_relevant: 0,
  now_ms: nowMs,
  config: batch(gateId, "x", nowMs, []).config,
});

const ALL_IDS = MONITOR_MIGRATIONS.map((m) => m.id);

/** The object's SQLite as the test sees it: tables, the columns of `batches`, the migration ledger. */
const schemaOf = (stub: MonitorStub) =>
  runInDurableObject(stub, (_: GateMonitor, state) => {
    const sql = state.storage.sql;
    const tables = sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
      )
      .toArray()
      .map((r) => r.name);
    return {
      tables,
      batchColumns: sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('batches')")
        .toArray()
        .map((r) => r.name),
      judgmentColumns: sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('judgment_batches')")
        .toArray()
        .map((r) => r.name),
      ledger: tables.includes("schema_migrations")
        ? sql.exec<{ id: number; applied_at: number }>("SELECT id, applied_at FROM schema_migrations ORDER BY id").toArray()
        : [],
    };
  });

/** Turns the object back into what an older Worker left: the tables as they were, without the migration ledger. */
const rewind = (stub: MonitorStub, to: "before-batch-hash" | "before-numbered-migrations") =>
  runInDurableObject(stub, (_: GateMonitor, state) => {
    const sql = state.storage.sql;
    sql.exec("DROP TABLE schema_migrations");
    // The series (migration 4), the hub's event log (migration 5) and the live evidence (migration 6) came after
    // migrations were numbered: no older object has them.
    sql.exec("DROP TABLE series");
    sql.exec("DROP TABLE gate_events");
    sql.exec("DROP TABLE evidence");
    if (to === "before-batch-hash") {
      // The first schema: batches without a hash, and none of the tables added later (judgments, queued ingest).
      sql.exec("CREATE TABLE batches_then (batch_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL)");
      sql.exec("INSERT INTO batches_then (batch_id, received_at) SELECT batch_id, received_at FROM batches");
      sql.exec("DROP TABLE batches");
      sql.exec("ALTER TABLE batches_then RENAME TO batches");
      sql.exec("CREATE INDEX batches_by_time ON batches (received_at)");
      for (const table of ["judgment_batches", "coverage", "queued_ingest"]) sql.exec(`DROP TABLE ${table}`);
    } else {
      // Before judgment batches had a content hash (migration 3).
      sql.exec("ALTER TABLE judgment_batches DROP COLUMN hash");
    }
  });

const ALL_TABLES = [
  "batches",
  "coverage",
  "detectors",
  "evidence",
  "gate_events",
  "history",
  "judgment_batches",
  "pending_alerts",
  "queued_ingest",
  "schema_migrations",
  "series",
  "windows",
];

describe("GateMonitor migrations", () => {
  it("a new object gets every table and the ledger of every migration, and runs none of them again after a restart", async () => {
    const { gateId, stub, rpc } = monitor("new");
    await rpc.observe(batch(gateId, "n1", T0, steady(10)));
    const first = await schemaOf(stub);
    expect(first.tables).toEqual(ALL_TABLES);
    expect(first.batchColumns).toEqual(["batch_id", "received_at", "hash"]);
    expect(first.judgmentColumns).toEqual(["batch_id", "received_at", "hash"]);
    expect(first.ledger.map((m) => m.id)).toEqual(ALL_IDS);
    await evictDurableObject(stub);
    await rpc.observe(batch(gateId, "n2", T0 + 1_000, steady(10)));
    expect((await schemaOf(stub)).ledger).toEqual(first.ledger);
  });

  it("an object created before batches had a hash keeps its window and batch ids; an old id is a duplicate, never a mismatch", async () => {
    const { gateId, stub, rpc } = monitor("before-hash");
    await rpc.observe(batch(gateId, "old-1", T0, steady(30)));
    await rewind(stub, "before-batch-hash");
    expect(await schemaOf(stub)).toMatchObject({ batchColumns: ["batch_id", "received_at"], ledger: [] });
    await evictDurableObject(stub); // the next request starts the object on the new code

    const again = await rpc.observe({ ...batch(gateId, "old-1", T0 + 1_000, steady(30)), batch_hash: "a body hashed by the new code" });
    expect(again).toMatchObject({ duplicate: true, mismatch: false, window: { queries: 30, batches: 1 } });
    const next = await rpc.observe(batch(gateId, "new-1", T0 + 2_000, steady(10)));
    expect(next).toMatchObject({ duplicate: false, window: { queries: 40, batches: 2 } });
    const reused = await rpc.observe({ ...batch(gateId, "new-1", T0 + 3_000, steady(12)), batch_hash: "another body" });
    expect(reused).toMatchObject({ duplicate: true, mismatch: true });

    const schema = await schemaOf(stub);
    expect(schema.tables).toEqual(ALL_TABLES);
    expect(schema.batchColumns).toEqual(["batch_id", "received_at", "hash"]);
    expect(schema.ledger.map((m) => m.id)).toEqual(ALL_IDS);
  });

  it("an object whose series predates migration 7 keeps its hours, reads 0 for the new counts and counts them from then on", async () => {
    const { gateId, stub, rpc } = monitor("series-7");
    const HOUR = 3_600_000;
    // A min_keep 2 gate's batches ([m, d] or [m, d, below, abstained] per query).
    const guarded = (batchId: string, nowMs: number, queries: number[][]) => {
      const b = batch(gateId, batchId, nowMs, []);
      const expectation = { ...b.calibration.expectation, guards: { min_keep: 2, max_keep: null } };
      return { ...b, queries: queries as unknown as typeof b.queries, calibration: { ...b.calibration, expectation } };
    };
    await rpc.observe(guarded("s1", T0, steady(20)));
    // The series as migration 4 made it: without the abstention and guard counts, and no ledger row for 7.
    await runInDurableObject(stub, (_: GateMonitor, state) => {
      const sql = state.storage.sql;
      for (const column of ["abstention_queries", "abstained", "guard_bound_queries", "abstention_alarms"]) {
        sql.exec(`ALTER TABLE series DROP COLUMN ${column}`);
      }
      sql.exec("DELETE FROM schema_migrations WHERE id = 7");
    });
    await evictDurableObject(stub);

    await rpc.observe(
      guarded("s2", T0 + HOUR, [
        [20, 20, 20, 1],
        [20, 6, 6, 0],
      ]),
    );
    const [before, after] = await rpc.series(T0, T0 + 2 * HOUR);
    expect(before).toMatchObject({
      queries: 20,
      abstention_queries: 0,
      abstained_queries: 0,
      abstention_rate: null,
      guard_bound_queries: 0,
      abstention_alarms: 0,
    });
    expect(after).toMatchObject({ queries: 2, abstention_queries: 2, abstained_queries: 1, abstention_rate: 0.5, guard_bound_queries: 1 });
    expect((await schemaOf(stub)).ledger.map((m) => m.id)).toEqual(ALL_IDS);
  });

  it("an object created before migrations were numbered (today's tables, no ledger) migrates without touching its data", async () => {
    const { gateId, stub, rpc } = monitor("unnumbered");
    await rpc.observe(batch(gateId, "u1", T0, steady(20)));
    expect(await rpc.judge(judgment(gateId, "j1", T0, "hash-j1"))).toMatchObject({ duplicate: false, recall: { queries: 4 } });
    await rpc.observeMany({ now_ms: T0 + 500, config: batch(gateId, "x", T0, []).config, batches: [{ ...batch(gateId, "u2", T0, steady(5)) }] });
    await rewind(stub, "before-numbered-migrations");
    await evictDurableObject(stub);

    const status = await rpc.status(gateId, T0 + 1_000, batch(gateId, "x", T0, []).config);
    expect(status.windows[0]).toMatchObject({ queries: 25, batches: 2 });
    expect(status.queued_ingest).toMatchObject({ calls: 1, batches: 1, counted: 1 });
    expect(await rpc.observe(batch(gateId, "u1", T0 + 2_000, steady(20)))).toMatchObject({ duplicate: true, mismatch: false });
    // a judgment id recorded before judgment batches had a hash is a duplicate, never a mismatch; new ids compare bodies
    expect(await rpc.judge(judgment(gateId, "j1", T0 + 2_000, "a body hashed by the new code"))).toMatchObject({ duplicate: true, mismatch: false });
    expect(await rpc.judge(judgment(gateId, "j2", T0 + 3_000, "hash-j2"))).toMatchObject({ duplicate: false, recall: { queries: 8 } });
    expect(await rpc.judge(judgment(gateId, "j2", T0 + 4_000, "another body"))).toMatchObject({
      duplicate: true,
      mismatch: true,
      recall: { queries: 8 },
    });
    const schema = await schemaOf(stub);
    expect(schema.judgmentColumns).toEqual(["batch_id", "received_at", "hash"]);
    expect(schema.ledger.map((m) => m.id)).toEqual(ALL_IDS);
    // Its series starts with the first batch counted on the new code; the window kept every earlier count.
    const next = await rpc.observe(batch(gateId, "u3", T0 + 3_000, steady(10)));
    expect(next.window).toMatchObject({ queries: 35, batches: 3 });
    expect((await rpc.series(T0 - 3_600_000, T0 + 3_600_000)).map((b) => [b.queries, b.batches])).toEqual([[10, 1]]);
  });
});
