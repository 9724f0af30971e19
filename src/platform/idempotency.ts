/**
 * Runs a creating request at most once per Idempotency-Key (Stripe semantics): the same key and the same request
 * replay the first response; the same key with a different request is 422 `idempotency_mismatch`; a key whose first
 * request is still running is 409 `idempotency_in_progress` (with Retry-After: a retry with the same key and request
 * is safe and gets the first answer once it is stored). Failed requests release their key. Keys are kept
 * IDEMPOTENCY_TTL_MS.
 */
import { sha256Hex } from "./digest";
import { AppError } from "./errors";
import type { IdempotencyStore } from "./idempotency-store";
import { IDEMPOTENCY_LOCK_MS, IDEMPOTENCY_TTL_MS, MAX_IDEMPOTENCY_KEY_LENGTH } from "./limits";

/** An answer of `run`, first given or replayed; `T` is what `run` answers (a replay parses the first answer's JSON). */
export interface StoredResponse<S extends number, T> {
  readonly status: S;
  readonly body: T;
  readonly replayed: boolean;
}

/** Hex SHA-256 over the parts that define a request. */
export async function requestHash(parts: readonly (string | Uint8Array)[]): Promise<string> {
  const enc = new TextEncoder();
  const chunks = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const total = chunks.reduce((n, c) => n + c.byteLength + 1, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.byteLength + 1; // a zero byte separates parts
  }
  return sha256Hex(all);
}

/**
 * `recover`, when given, finds the answer of a request with this key and hash whose work committed but whose key was
 * never completed (the request died in between): it is asked before 409 for a key still in flight, and before `run`
 * when the key was claimed (its earlier claim may have expired), and its answer completes the key and is replayed.
 */
export async function once<S extends number, T>(
  store: IdempotencyStore,
  actor: string,
  key: string | undefined,
  hash: string,
  now: Date,
  run: () => Promise<{ status: S; body: T }>,
  recover?: () => Promise<{ status: S; body: T } | null>,
): Promise<StoredResponse<S, T>> {
  if (key === undefined) return { ...(await run()), replayed: false };
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new AppError("bad_request", `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  const replay = async (r: { status: S; body: T }): Promise<StoredResponse<S, T>> => {
    await store.complete(actor, key, r.status, JSON.stringify(r.body));
    return { ...r, replayed: true };
  };
  const existing = await store.begin(
    actor,
    key,
    hash,
    now.toISOString(),
    new Date(now.getTime() - IDEMPOTENCY_TTL_MS).toISOString(),
    new Date(now.getTime() - IDEMPOTENCY_LOCK_MS).toISOString(),
  );
  if (existing !== null) {
    if (existing.request_hash !== hash) {
      throw new AppError("idempotency_mismatch", "this Idempotency-Key was used with a different request; use a new key");
    }
    if (existing.status === null || existing.response === null) {
      const recovered = recover ? await recover() : null;
      if (recovered !== null) return replay(recovered);
      throw new AppError("idempotency_in_progress", "a request with this Idempotency-Key is still in progress; retry shortly");
    }
    // Only answers of `run` are stored (a failed request releases its key): the replay has run's status and body.
    return { status: existing.status as S, body: JSON.parse(existing.response) as T, replayed: true };
  }
  try {
    const recovered = recover ? await recover() : null;
    if (recovered !== null) return replay(recovered);
    const result = await run();
    await store.complete(actor, key, result.status, JSON.stringify(result.body));
    return { ...result, replayed: false };
  } catch (e) {
    await store.release(actor, key);
    throw e;
  }
}

/** Hex characters of a keyed request's digest kept with its change: 128 bits, no collision between keys. */
export const REQUEST_DIGEST_HEX = 32;

/**
 * A change that commits in one write and keeps its request's digest with it (a promotion's start, an override, a
 * shadow change, a webhook endpoint), run once per (token name, key) through `once`: `parts` define the request (the
 * route's operation, its path parameter and its validated body), `run` is handed the request's digest (null without a
 * key) to record with its change, `recover` finds the change a request with that digest committed (the request died
 * between its commit and its key's completion).
 */
export async function keyedChange<S extends number, T>(
  deps: { readonly idempotency: IdempotencyStore; readonly now: () => Date },
  actor: string,
  key: string | undefined,
  parts: readonly string[],
  status: S,
  run: (request: string | null) => Promise<T>,
  recover: (request: string) => Promise<T | null>,
): Promise<StoredResponse<S, T>> {
  if (key === undefined) return { status, body: await run(null), replayed: false };
  const hash = await requestHash(parts);
  const request = (await requestHash([actor, key, hash])).slice(0, REQUEST_DIGEST_HEX);
  return once(
    deps.idempotency,
    actor,
    key,
    hash,
    deps.now(),
    async () => ({ status, body: await run(request) }),
    async () => {
      const found = await recover(request);
      return found === null ? null : { status, body: found };
    },
  );
}
