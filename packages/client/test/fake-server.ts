/**
 * A scripted stand-in for the Worker: records every request and answers with whatever the test set (a status, a
 * network failure, or a request that never settles). No network.
 */
// The clients' own view of the body (guards included), which the server's schema is checked against.
import type { ThresholdResponse } from "../../../src/contract/wire-types";
import { ScoregateClient } from "../src";

export interface Recorded {
  method: string;
  url: URL;
  headers: Headers;
  body: any;
  signal: AbortSignal | undefined;
}

export type Reply = Response | "network-error" | "hang" | "hang-ignoring-abort";

export function thresholdBody(
  calibrationId = "cal_0000000001",
  threshold: number | null = 0.42,
  overrides: Partial<ThresholdResponse> = {},
): ThresholdResponse {
  return {
    index: "docs",
    embedding: "e5",
    reranker: "bge",
    threshold,
    calibration_id: calibrationId,
    index_version: "v1",
    policy: { kind: "drop_rate", target: 0.3 },
    score_scale: "unbounded",
    expected_drop_rate: 0.3,
    fitted_at: "2026-01-01T00:00:00.000Z",
    activated_at: "2026-01-01T00:00:00.000Z",
    guards: { min_keep: 0, max_keep: null },
    abstain_below: null,
    rollout: null,
    shadows: [],
    ...overrides,
  };
}

export const SERVER_CACHE_CONTROL = "private, max-age=5, stale-while-revalidate=60, stale-if-error=86400";

export function ok(body: ThresholdResponse, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { "content-type": "application/json", etag: `"${body.calibration_id}"`, "cache-control": SERVER_CACHE_CONTROL, ...headers },
  });
}

export function notModified(etag: string): Response {
  return new Response(null, { status: 304, headers: { etag, "cache-control": SERVER_CACHE_CONTROL } });
}

export function error(status: number, code: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { code, message: `${code} (test)` } }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export function fakeServer(initial?: (req: Recorded) => Reply) {
  const requests: Recorded[] = [];
  let handler: (req: Recorded) => Reply = initial ?? (() => ok(thresholdBody()));
  const fetchFn = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const text = typeof init.body === "string" ? init.body : undefined;
    const req: Recorded = {
      method: init.method ?? "GET",
      url: new URL(String(input)),
      headers: new Headers(init.headers),
      body: text === undefined ? undefined : JSON.parse(text),
      signal: init.signal ?? undefined,
    };
    requests.push(req);
    const reply = handler(req);
    if (reply === "network-error") throw new TypeError("fetch failed: connect ECONNREFUSED 127.0.0.1:8787");
    if (reply === "hang-ignoring-abort") return new Promise<Response>(() => {});
    if (reply === "hang")
      return new Promise<Response>((_, reject) => {
        req.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    return reply;
  }) as typeof fetch;
  return {
    fetch: fetchFn,
    requests,
    set(next: (req: Recorded) => Reply) {
      handler = next;
    },
    thresholdRequests: () => requests.filter((r) => r.url.pathname === "/v1/threshold"),
    observationRequests: () => requests.filter((r) => r.url.pathname === "/v1/observations"),
  };
}

/**
 * The User-Agent of the first request of a client that `attach` (an adapter's constructor) was given: what the server
 * sees from an integration.
 */
export async function userAgentWith(attach: (client: ScoregateClient) => unknown): Promise<string | null> {
  const server = fakeServer();
  const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
  attach(client);
  await client.getThreshold({ embedding: "e5", reranker: "bge" }, { fallback: null });
  return server.requests[0]!.headers.get("user-agent");
}

/** A seeded [0, 1) source for the jitter (tests never use Math.random). */
/** A promotion candidate's (or a shadow's) served gate: v2 at 0.6, no guards. */
export const candidateGate = {
  calibration_id: "cal_0000000002",
  index_version: "v2",
  threshold: 0.6,
  expected_drop_rate: 0.3,
  guards: { min_keep: 0, max_keep: null },
  abstain_below: null,
};

/** A client of a server that answers thresholdBody() with `extra` (a rollout, shadows) and accepts every batch. */
export function servingClient(extra: Record<string, unknown> = {}) {
  const body = { ...thresholdBody(), ...extra } as ThresholdResponse;
  const server = fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(body)));
  const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
  return { server, client };
}

export { createRng } from "../../../test/support/prng";
