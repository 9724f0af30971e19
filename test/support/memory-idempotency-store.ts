/** In-memory IdempotencyStore for unit tests: the same claim, replay, release and retention rules as the D1 store. */
import type { IdempotencyRecord, IdempotencyStore } from "../../src/platform/idempotency-store";

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<string, IdempotencyRecord>();

  async begin(actor: string, key: string, hash: string, now: string, expiredBefore: string, lockedBefore: string): Promise<IdempotencyRecord | null> {
    const id = `${actor}\u0000${key}`;
    const r = this.#records.get(id);
    if (r && (r.created_at < expiredBefore || (r.status === null && r.created_at < lockedBefore))) this.#records.delete(id);
    const existing = this.#records.get(id);
    if (existing) return { ...existing };
    this.#records.set(id, { request_hash: hash, status: null, response: null, created_at: now });
    return null;
  }

  async complete(actor: string, key: string, status: number, response: string): Promise<void> {
    const id = `${actor}\u0000${key}`;
    const r = this.#records.get(id);
    if (r) this.#records.set(id, { ...r, status, response });
  }

  async release(actor: string, key: string): Promise<void> {
    const id = `${actor}\u0000${key}`;
    if (this.#records.get(id)?.status === null) this.#records.delete(id);
  }

  async purge(before: string): Promise<number> {
    let n = 0;
    for (const [id, r] of this.#records) {
      if (r.created_at < before) {
        this.#records.delete(id);
        n++;
      }
    }
    return n;
  }
}
