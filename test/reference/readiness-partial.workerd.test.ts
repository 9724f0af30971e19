/**
 * A database migrated up to a migration that makes only an index or a column (0011, 0012, 0014) is not ready: /healthz
 * answers 503 not_migrated naming the missing index and column, not `ready: true` while a route fails on the column.
 * Once the remaining migrations are applied it is ready.
 */
import { createExecutionContext, type D1Migration, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { Env } from "../../src/platform/env";
import { REQUIRED_SCHEMA } from "../../src/platform/readiness";

const db = (env as unknown as { UNMIGRATED_DB: D1Database }).UNMIGRATED_DB;
const migrations = (env as unknown as { TEST_MIGRATIONS: D1Migration[] }).TEST_MIGRATIONS;
const partly = { ...(env as unknown as Env), DB: db } as Env;

async function healthz(): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request("http://scoregate.test/healthz"), partly, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const apply = (ms: D1Migration[]) => db.batch(ms.flatMap((m) => m.queries.map((q) => db.prepare(q))));

describe("readiness of a database migrated part of the way", () => {
  it("names the index and the column of the migrations not applied, then is ready once they are", async () => {
    const last = migrations.findIndex((m) => m.name.startsWith("0011"));
    expect(last).toBeGreaterThan(0);
    await apply(migrations.slice(0, last));
    const res = await healthz();
    expect(res.status).toBe(503);
    const { error } = await res.json<any>();
    expect(error.code).toBe("not_migrated");
    expect(error.details.missing_tables).toEqual([]);
    // 0011 makes an index; 0012 a column and an index; 0013 more indexes; 0014 a column
    const notApplied = REQUIRED_SCHEMA.indexes.slice(REQUIRED_SCHEMA.indexes.indexOf("promotion_steps_unlogged"));
    expect(notApplied.slice(0, 2)).toEqual(["promotion_steps_unlogged", "webhook_endpoints_by_request"]);
    expect(error.details.missing_indexes).toEqual(notApplied);
    expect(error.details.missing_columns).toEqual(["webhook_endpoints.created_by", "webhook_endpoints.updated_by"]);
    expect(error.message).toContain("(missing: index promotion_steps_unlogged, index webhook_endpoints_by_request, ");
    expect(error.message).toContain(", column webhook_endpoints.created_by, column webhook_endpoints.updated_by)");
    await apply(migrations.slice(last));
    const ready = await healthz();
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true, ready: true });
  });
});
