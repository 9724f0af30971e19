/**
 * Node-only helpers: save the cache to a file and bootstrap a cold start from it (`restore(client, await
 * loadSnapshot(path))`, restore from `@scoregate/client/snapshot`). The core (./index.ts) has no Node
 * API; this entry is `@scoregate/client/node`.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import type { ScoregateClient } from "./client";
import { snapshot as snapshotOf } from "./snapshot";
import type { Snapshot } from "./types";

/** Reads a snapshot written by saveSnapshot; undefined when the file is missing or unreadable (a cold start then uses the fallback). */
export async function loadSnapshot(path: string): Promise<Snapshot | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Snapshot;
    return parsed?.version === 1 && Array.isArray(parsed.entries) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the client's cache atomically (temporary file, then rename), so a crash never leaves half a snapshot. */
export async function saveSnapshot(client: ScoregateClient, path: string): Promise<Snapshot> {
  const snapshot = snapshotOf(client);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(snapshot));
  await rename(tmp, path);
  return snapshot;
}
