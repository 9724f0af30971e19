/** An unmigrated database: /healthz answers 503 not_migrated, and so does every data route (never a 500). */

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { Env } from "../../src/platform/env";
import { qs, TOKENS } from "../support/worker";

const unmigrated = { ...(env as unknown as Env), DB: (env as unknown as { UNMIGRATED_DB: D1Database }).UNMIGRATED_DB } as Env;

async function callUnmigrated(method: string, path: string, token: string | null, body?: unknown): Promise<Response> {
  const headers = new Headers();
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  if (body !== undefined) headers.set("content-type", "application/json");
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://scoregate.test${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
    unmigrated,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("readiness", () => {
  it("the migrated database is ready (and that is remembered per database, not per isolate)", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("http://scoregate.test/healthz"), env as unknown as Env, ctx);
    expect(await res.json()).toEqual({ ok: true, ready: true });
  });

  it("/healthz is 503 not_migrated naming the command and the missing tables", async () => {
    const res = await callUnmigrated("GET", "/healthz", null);
    expect(res.status).toBe(503);
    const { error } = await res.json<any>();
    expect(error.code).toBe("not_migrated");
    expect(error.message).toContain("wrangler d1 migrations apply DB");
    expect(error.details.missing_tables).toContain("calibrations");
  });

  it("data routes answer 503 not_migrated, never 500", async () => {
    const gate = { index: "docs", embedding: "e5", reranker: "bge" };
    const requests: [string, string, string, unknown?][] = [
      ["GET", `/v1/threshold?${qs(gate)}`, TOKENS.read],
      ["GET", "/v1/gates", TOKENS.read],
      ["GET", `/v1/calibrations?${qs(gate)}`, TOKENS.read],
      ["GET", "/v1/alerts", TOKENS.read],
      ["GET", "/v1/webhooks", TOKENS.admin],
      [
        "POST",
        "/v1/calibrations",
        TOKENS.calibrate,
        { ...gate, index_version: "v1", scores: [0.1, 0.2, 0.3, 0.4, 0.5], policy: { kind: "drop_rate", target: 0.2 } },
      ],
      ["POST", "/v1/observations", TOKENS.read, { batch_id: "b1", ...gate, queries: [[20, 5]] }],
    ];
    for (const [method, path, token, body] of requests) {
      const res = await callUnmigrated(method, path, token, body);
      const text = await res.text();
      expect(res.status, `${method} ${path}: ${text}`).toBe(503);
      expect(JSON.parse(text).error.code).toBe("not_migrated");
    }
  });
});
