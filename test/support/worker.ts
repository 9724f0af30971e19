/**
 * Helpers for route tests inside workerd: call the Worker's default export, with tokens from vitest.config.ts.
 */
import { exports } from "cloudflare:workers";

export const TOKENS = {
  read: "test-read",
  calibrate: "test-calibrate",
  admin: "test-admin",
} as const;

const worker = (exports as unknown as { default: Fetcher }).default;

export interface CallOptions {
  token?: string | null;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

/** Calls the Worker. `token` defaults to the admin token; null sends none. */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? TOKENS.admin : options.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  return worker.fetch(`http://scoregate.test${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

/** Calls and parses a JSON response, asserting the status. */
export async function callJson<T = any>(method: string, path: string, status: number, options: CallOptions = {}): Promise<T> {
  const res = await call(method, path, options);
  const text = await res.text();
  if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status}: ${text}`);
  return (text === "" ? null : JSON.parse(text)) as T;
}

/** A unique gate per test (storage is isolated per file, not per test). */
let counter = 0;
export function uniqueGate(label = "gate"): { index: string; embedding: string; reranker: string } {
  counter += 1;
  return { index: `idx-${label}-${counter}`, embedding: "BAAI/bge-m3@v1", reranker: `BAAI/bge-reranker-v2-m3@${label}-${counter}` };
}

export const qs = (params: Record<string, string | number | boolean | undefined>): string =>
  new URLSearchParams(
    Object.entries(params)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  ).toString();

/** Deterministic scores 0..1 without a PRNG: a low-discrepancy sequence (golden-ratio fractional parts). */
export function spreadScores(n: number, offset = 0, scale = 1): number[] {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) out.push(offset + scale * ((i * 0.6180339887498949) % 1));
  return out;
}
