/**
 * @scoregate/client/snapshot: the threshold cache as a JSON-serializable snapshot and back, for cold starts (save it
 * to KV or a file; `@scoregate/client/node` writes and reads files). A separate entry so that a service that never
 * snapshots does not carry it (the core keeps its size budget, docs/benchmarks.md section 14). Only values the server
 * answered are saved, with their ETags; a restored value is served as `stale` until the server answers.
 */

import { evictOldest, gateKey, isGateKey, newEntry } from "./cache-entry";
import type { ScoregateClient } from "./client";
import { readThresholdResponse } from "./threshold-response";
import type { Snapshot } from "./types";

/** The client's cache as a JSON-serializable snapshot (values the server answered, with their ETags). */
export function snapshot(client: ScoregateClient): Snapshot {
  const saved: Snapshot["entries"] = [];
  const [entries, options] = client._internals();
  for (const e of entries.values()) {
    if (e.value !== undefined) saved.push({ gate: { ...e.gate }, response: e.value, etag: e.etag, fetchedAt: e.fetchedAt });
  }
  return { version: 1, savedAt: options.now(), entries: saved };
}

/**
 * Loads a snapshot into the client's cache, best right after constructing it. Its values are served as `stale` until
 * the server answers (the first call revalidates with the saved ETag), and never replace a value the server already
 * gave this client. An unreadable snapshot or entry (or undefined, as `loadSnapshot` answers for a missing file) is
 * skipped; past the client's `maxGates` the oldest entries go.
 */
export function restore(client: ScoregateClient, snapshot: Snapshot | undefined): void {
  const [entries, { maxGates }] = client._internals();
  if (snapshot?.version !== 1 || !Array.isArray(snapshot.entries)) return;
  for (const s of snapshot.entries) {
    const response = readThresholdResponse(s?.response);
    if (response === undefined || !isGateKey(s.gate)) continue;
    const key = gateKey(s.gate);
    const existing = entries.get(key);
    if (existing !== undefined && !existing.bootstrapped && (existing.value !== undefined || existing.uncalibrated)) continue;
    const fetchedAt = typeof s.fetchedAt === "number" ? s.fetchedAt : 0;
    const e = existing ?? newEntry(s.gate, fetchedAt);
    e.value = response;
    e.etag = typeof s.etag === "string" ? s.etag : null;
    e.fetchedAt = fetchedAt;
    e.bootstrapped = true;
    entries.set(key, e);
  }
  evictOldest(entries, maxGates);
}
