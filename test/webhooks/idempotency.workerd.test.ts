/**
 * Idempotency-Key on POST /v1/webhooks (src/webhooks/endpoints.ts keyedCreateEndpoint): the create's answer is the
 * only one that shows the new secret, so a client that lost it retries with its key and gets the same endpoint and
 * secret, never a second endpoint (which would take a slot of MAX_WEBHOOK_ENDPOINTS and deliver every alert twice),
 * also after the first request died between storing the endpoint and completing its key.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { call, callJson, TOKENS } from "../support/worker";

const admin = { token: TOKENS.admin };
const keyed = (key: string, json: object) => ({ ...admin, json, headers: { "idempotency-key": key } });
describe("Idempotency-Key on POST /v1/webhooks", () => {
  it("a retry gets the same endpoint and secret (replayed); the key with another body is 422; an empty key is 400; nothing is created twice", async () => {
    const body = { url: "http://localhost:9/idem-a", description: "on-call" };
    const first = await call("POST", "/v1/webhooks", keyed("wh-1", body));
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const created = await first.json<{ id: string; secret: string }>();
    const again = await call("POST", "/v1/webhooks", keyed("wh-1", body));
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toMatchObject({ id: created.id, secret: created.secret });
    const other = await call("POST", "/v1/webhooks", keyed("wh-1", { ...body, description: "another" }));
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ error: { code: "idempotency_mismatch" } });
    const empty = await call("POST", "/v1/webhooks", keyed("", body));
    expect(empty.status).toBe(400);
    const ids = (await callJson("GET", "/v1/webhooks", 200, admin)).endpoints.map((e: { id: string }) => e.id);
    expect(ids.filter((id: string) => id === created.id)).toHaveLength(1);
    expect(
      (await callJson("GET", "/v1/webhooks", 200, admin)).endpoints.filter((e: { description: string | null }) => e.description === "on-call"),
    ).toHaveLength(1);
  });

  it("a retry after the endpoint was stored but its key never completed gets that endpoint, not a second one", async () => {
    const body = { url: "http://localhost:9/idem-b", description: "crash window" };
    const created = await callJson("POST", "/v1/webhooks", 201, keyed("wh-crash", body));
    // The state a request that died after its insert leaves: its key claimed, never completed.
    const { meta } = await env.DB.prepare("UPDATE idempotency_keys SET status = NULL, response = NULL WHERE key = ?").bind("wh-crash").run();
    expect(meta.changes).toBe(1);
    const retry = await call("POST", "/v1/webhooks", keyed("wh-crash", body));
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await retry.json()).toMatchObject({ id: created.id, secret: created.secret, description: "crash window" });
    const withDescription = (await callJson("GET", "/v1/webhooks", 200, admin)).endpoints.filter(
      (e: { description: string | null }) => e.description === "crash window",
    );
    expect(withDescription).toHaveLength(1);
    const key = await env.DB.prepare("SELECT status FROM idempotency_keys WHERE key = ?").bind("wh-crash").first<{ status: number }>();
    expect(key?.status).toBe(201);
  });

  it("a key whose endpoint was deleted creates a new one once the key has expired (or its crashed claim is taken over), never a 500", async () => {
    const body = { url: "http://localhost:9/idem-d", description: "recreated" };
    // The deletions are logged for operators: captured and checked here instead of printed.
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    onTestFinished(() => log.mockRestore());
    for (const crashed of [false, true]) {
      const key = `wh-deleted-${crashed}`;
      const first = await callJson("POST", "/v1/webhooks", 201, keyed(key, body));
      log.mockClear();
      await callJson("DELETE", `/v1/webhooks/${first.id}`, 200, admin);
      expect(log.mock.calls).toEqual([[`webhook endpoint ${first.id} deleted by alice`]]);
      // the key's 24 hours are over, or its first request died and its claim is older than the lock
      const aged = crashed ? ", status = NULL, response = NULL" : "";
      await env.DB.prepare(`UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000Z'${aged} WHERE key = ?`).bind(key).run();
      const again = await call("POST", "/v1/webhooks", keyed(key, body));
      expect(again.status).toBe(201);
      const created = await again.json<{ id: string }>();
      expect(created.id).not.toBe(first.id);
    }
  });

  it("without a key, two creates make two endpoints (as before)", async () => {
    const body = { url: "http://localhost:9/idem-c", description: "unkeyed" };
    await callJson("POST", "/v1/webhooks", 201, { ...admin, json: body });
    await callJson("POST", "/v1/webhooks", 201, { ...admin, json: body });
    const unkeyed = (await callJson("GET", "/v1/webhooks", 200, admin)).endpoints.filter(
      (e: { description: string | null }) => e.description === "unkeyed",
    );
    expect(unkeyed).toHaveLength(2);
  });
});
