/**
 * The cron tick's repair of missed pushes: the hubs of gates whose log changed recently are brought up to D1 (a push
 * listener that failed, a Worker that died between its commit and its listeners). A hub that is current reads one D1
 * query and sends nothing; subscribers of a hub that was behind get the missing events in order, within a minute (two
 * queries); a hub ahead of D1 (its log went back: a restore) restarts its history at D1's newest event (hub.ts).
 */
import { HUB_SYNC_WINDOW_MS, MAX_HUB_SYNCS_PER_TICK } from "../platform/limits";
import type { HubClient } from "./deps";

/** Which gates changed lately (the activation log in D1). */
export interface RecentChanges {
  /** Gates with a log row at or after `sinceIso`, at most `limit`, most recently changed first. */
  gatesChangedSince(sinceIso: string, limit: number): Promise<string[]>;
}

export class D1RecentChanges implements RecentChanges {
  constructor(private readonly db: D1Database) {}

  async gatesChangedSince(sinceIso: string, limit: number): Promise<string[]> {
    const { results } = await this.db
      .prepare(`SELECT gate_id FROM activations WHERE activated_at >= ? GROUP BY gate_id ORDER BY MAX(seq) DESC LIMIT ?`)
      .bind(sinceIso, limit)
      .all<{ gate_id: string }>();
    return results.map((r) => r.gate_id);
  }
}

/** Syncs the hubs of the gates changed within HUB_SYNC_WINDOW_MS of `now`; returns how many were synced. */
export async function syncRecentHubs(changes: RecentChanges, hub: HubClient, now: Date): Promise<number> {
  const gates = await changes.gatesChangedSince(new Date(now.getTime() - HUB_SYNC_WINDOW_MS).toISOString(), MAX_HUB_SYNCS_PER_TICK);
  await Promise.all(gates.map((g) => hub.sync(g)));
  return gates.length;
}
