/**
 * /healthz and the run-time variables: a DRIFT_* or OBSERVATION_INGEST value the routes refuse (503 misconfigured)
 * fails /healthz with the same error, so a load balancer or an uptime check sees it; a valid one leaves the healthy
 * answer as it is. PUBLIC_URL, which no route refuses, is reported there too; with it, alert webhooks link the alert.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { raiseAlert } from "../../src/alerts/lifecycle";
import worker from "../../src/index";
import type { Env } from "../../src/platform/env";
import { alertDeps } from "../../src/worker/wiring";
import { call, TOKENS, uniqueGate } from "../support/worker";

const baseEnv = env as unknown as Env;

async function fetchWith(e: Env, method: string, path: string, init: { token?: string; json?: unknown } = {}): Promise<Response> {
  const headers = new Headers();
  if (init.token !== undefined) headers.set("authorization", `Bearer ${init.token}`);
  if (init.json !== undefined) headers.set("content-type", "application/json");
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://scoregate.test${path}`, { method, headers, ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }) }),
    e,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

const upload = (gate: object) => ({ ...gate, index_version: "v1", scores: [0.1, 0.2, 0.3], policy: { kind: "drop_rate", target: 0.25 } });

const misconfigurations: [string, Record<string, string | undefined>, string][] = [
  ["DRIFT_ALPHA out of range", { DRIFT_ALPHA: "0.9" }, 'DRIFT_ALPHA="0.9" is not valid: use a number above 0 and below 0.5 (default 0.001)'],
  ["DRIFT_TOLERANCE out of range", { DRIFT_TOLERANCE: "1" }, 'DRIFT_TOLERANCE="1" is not valid: use a number at least 0 and below 1 (default 0.02)'],
  ["an OBSERVATION_INGEST that is no mode", { OBSERVATION_INGEST: "queued" }, 'OBSERVATION_INGEST="queued" is not valid: use "direct" or "queue"'],
  [
    "queue mode without the OBSERVATIONS_QUEUE binding",
    { OBSERVATION_INGEST: "queue", OBSERVATIONS_QUEUE: undefined },
    'OBSERVATION_INGEST is "queue" but the Worker has no OBSERVATIONS_QUEUE binding: declare it under [[queues.producers]] in wrangler.toml',
  ],
];

describe("/healthz with the run-time variables", () => {
  it("answers exactly as before with the shipped configuration and with valid values", async () => {
    for (const vars of [{}, { DRIFT_ALPHA: "0.01", DRIFT_TOLERANCE: "0" }, { OBSERVATION_INGEST: "queue" }, { DRIFT_ALPHA: " " }]) {
      const res = await fetchWith({ ...baseEnv, ...vars } as Env, "GET", "/healthz");
      expect(res.status, JSON.stringify(vars)).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.text()).toBe('{"ok":true,"ready":true}');
    }
  });

  it.each(misconfigurations)("%s: 503 misconfigured, the error POST /v1/observations answers", async (_, vars, message) => {
    const broken = { ...baseEnv, ...vars } as Env;
    const res = await fetchWith(broken, "GET", "/healthz");
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body).toEqual({ error: { code: "misconfigured", message } });

    const gate = uniqueGate("healthz-config");
    expect((await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: upload(gate) })).status).toBe(201);
    const route = await fetchWith(broken, "POST", "/v1/observations", { token: TOKENS.read, json: { batch_id: "h-1", ...gate, queries: [[2, 1]] } });
    expect(route.status).toBe(503);
    expect(await route.json()).toEqual(body);
  });

  it("a misconfiguration is reported before the schema probe: an unmigrated database with a bad variable is misconfigured", async () => {
    const unmigrated = { ...baseEnv, DB: (env as unknown as { UNMIGRATED_DB: D1Database }).UNMIGRATED_DB, DRIFT_ALPHA: "0.9" } as Env;
    const res = await fetchWith(unmigrated, "GET", "/healthz");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("misconfigured");
  });
});

describe("PUBLIC_URL: alert webhooks link the alert's dashboard page", () => {
  const raise = async (publicUrl: string | undefined, label: string) => {
    const deps = { ...alertDeps({ ...baseEnv, PUBLIC_URL: publicUrl } as Env, () => {}), deliverWebhooks: () => {} };
    const { alert } = await raiseAlert(
      {
        gate_id: `gate-public-url-${label}`,
        gate: { index: "docs", embedding: "e5", reranker: `public-url-${label}` },
        kind: "drop_rate_drift",
        summary: "production drop rate 41.0 % over 300 queries against the calibration's 30.0 %",
        details: {},
        calibration_ids: [],
      },
      deps,
    );
    const row = await env.DB.prepare("SELECT payload FROM webhook_events WHERE alert_id = ? AND type = 'alert.opened'")
      .bind(alert.id)
      .first<{ payload: string }>();
    return { id: alert.id, body: JSON.parse(row!.payload) as { text: string; url?: string } };
  };

  it("set: the event carries `url` and its Slack text ends with a link to it (a trailing slash dropped)", async () => {
    const { id, body } = await raise("https://scoregate.example.com/ops/", "set");
    expect(body.url).toBe(`https://scoregate.example.com/ops/ui/alerts/${id}`);
    expect(body.text.endsWith(`\n<https://scoregate.example.com/ops/ui/alerts/${id}|Open the alert in scoregate>`)).toBe(true);
    const res = await fetchWith({ ...baseEnv, PUBLIC_URL: "https://scoregate.example.com/ops/" } as Env, "GET", "/healthz");
    expect(res.status).toBe(200);
  });

  it("unset or empty: no `url` and no link, as before", async () => {
    for (const [value, label] of [
      [undefined, "unset"],
      [" ", "empty"],
    ] as const) {
      const { body } = await raise(value, label);
      expect(body.url).toBeUndefined();
      expect(body.text).not.toMatch(/[<>]/u);
    }
  });

  it("invalid: /healthz answers 503 misconfigured saying why, and alerts are still raised, without a link", async () => {
    const value = "https://scoregate.example.com/?team=ml";
    const res = await fetchWith({ ...baseEnv, PUBLIC_URL: value } as Env, "GET", "/healthz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: {
        code: "misconfigured",
        message: `PUBLIC_URL="${value}" is not valid: it must not hold a query (?) or fragment (#) (alert webhooks carry no link meanwhile)`,
      },
    });
    const { body } = await raise(value, "invalid");
    expect(body.url).toBeUndefined();
    expect(body.text).not.toMatch(/[<>]/u);
  });
});
