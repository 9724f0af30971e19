/**
 * Idempotency keys for uploads (Stripe semantics). A key belongs to the token name that used it. The D1
 * implementation is d1-idempotency-store.ts.
 *
 * Consistency: `begin` claims a key atomically, so two concurrent requests with one key cannot both proceed.
 */
export interface IdempotencyRecord {
  readonly request_hash: string;
  /** null while the first request is still in flight. */
  readonly status: number | null;
  readonly response: string | null;
  readonly created_at: string;
}

export interface IdempotencyStore {
  /**
   * Claims the key; returns null when claimed, or the existing record. Records older than `expiredBefore`, and
   * unfinished ones older than `lockedBefore` (their request died mid-way), are replaced.
   */
  begin(actor: string, key: string, hash: string, now: string, expiredBefore: string, lockedBefore: string): Promise<IdempotencyRecord | null>;
  complete(actor: string, key: string, status: number, response: string): Promise<void>;
  /** Releases a key whose request failed, so a corrected retry may use it. */
  release(actor: string, key: string): Promise<void>;
  /** Retention: forget keys older than `before`; returns how many. */
  purge(before: string): Promise<number>;
}
