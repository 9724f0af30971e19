/**
 * A small TTL + LRU cache that lives for one isolate (module scope): the first tier of the threshold read path. It
 * holds plain values, never bindings. Map iteration order is insertion order, which gives LRU by re-insertion.
 *
 * Expiry without a stampede: when an entry expires, the first request to see it gets `undefined` and refreshes it
 * (it holds a refresh lease of `refreshLeaseMs`); requests arriving meanwhile keep getting the previous value. Each
 * request does its own I/O (Workers forbid sharing I/O across requests), and at most one per key per lease goes past
 * the cache. The benchmark saw about 39 KV reads per expiry at 32 connections before this.
 *
 * Hand-written because it is small and the needed policy (TTL per entry, negative entries, refresh lease, injected
 * clock) is not what hono's cache middleware (Cache API, per URL) or an npm LRU provides.
 */
interface Entry<V> {
  value: V;
  expires: number;
  refreshUntil: number;
}

export class IsolateCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly refreshLeaseMs = 1_000,
  ) {}

  /** The value if fresh at `nowMs`, or stale while another request refreshes it; undefined means "refresh it". */
  get(key: string, nowMs: number): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    if (nowMs < e.expires) return e.value;
    if (nowMs < e.refreshUntil) return e.value;
    if (nowMs >= e.expires + this.ttlMs + this.refreshLeaseMs) {
      this.entries.delete(key); // long expired: nobody should see it any more
      return undefined;
    }
    e.refreshUntil = nowMs + this.refreshLeaseMs;
    return undefined;
  }

  set(key: string, value: V, nowMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: nowMs + this.ttlMs, refreshUntil: 0 });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Drops every entry whose key starts with `prefix` (after an activation in this isolate). */
  invalidatePrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
