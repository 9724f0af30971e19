/**
 * The threshold cache as a JSON-serializable snapshot and back, for cold starts (`@scoregate/client/node` writes it to
 * a file). Only values the server answered are saved, with their ETags; a restored value is served as `stale` until
 * the server answers.
 */
import { type Entry, gateKey, isGateKey, newEntry } from "./cache-entry";
import { readThresholdResponse } from "./threshold-response";
import type { Snapshot } from "./types";

/** The entries' values the server answered, with their ETags, saved at `savedAt`. */
export function snapshotOf(entries: Iterable<Entry>, savedAt: number): Snapshot {
  const saved: Snapshot["entries"] = [];
  for (const e of entries) {
    if (e.value !== undefined) saved.push({ gate: { ...e.gate }, response: e.value, etag: e.etag, fetchedAt: e.fetchedAt });
  }
  return { version: 1, savedAt, entries: saved };
}

/**
 * Loads a snapshot's valid entries into `entries` as bootstrapped values, never replacing one the server already gave;
 * an unreadable snapshot or entry is skipped. The caller evicts past its capacity.
 */
export function restoreInto(entries: Map<string, Entry>, snapshot: Snapshot): void {
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
}
