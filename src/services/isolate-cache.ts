/**
 * A small TTL + LRU cache that lives for one isolate (module scope in app.ts): the first tier of the threshold read
 * path. It holds plain values, never bindings. Map iteration order is insertion order, which gives LRU by re-insertion.
 * Hand-written because it is 30 lines and the needed policy (TTL per entry, negative entries, injected clock) is not
 * what hono's cache middleware (Cache API, per-URL) or an npm LRU adds without a dependency.
 */
export class IsolateCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  /** The value if present and fresh at `nowMs`, else undefined (and the stale entry is dropped). */
  get(key: string, nowMs: number): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= nowMs) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V, nowMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: nowMs + this.ttlMs });
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
