/**
 * The live evidence of a gate's shadows and promotion arms: cluster sums (stats/per-query.ts) of the queries counted
 * for each, kept apart from the drift windows so they can never raise the gate's alerts. Keys:
 * - `shadow:<calibration>@<seq>`: the mirrored queries a shadow gated, since its `shadow_added` event `seq` (a shadow
 *   removed and added again starts afresh);
 * - `versus:<calibration>@<seq>`: the gate's served queries counted since that shadow's first batch (the same time
 *   span, so a daily traffic shift moves both sides);
 * - `arm:<promotion>:<step>:<arm>`: a promotion arm's queries per step (a late batch counts for the step it carries).
 * Owns the table `evidence` (migrations.ts). Read by live-decision.ts through the host's `evidence()`.
 */
import { addObservation, emptyClusterSums, type QueryObservation } from "../../stats/per-query";
import type { LiveSums } from "../monitor-contract";
import { StateTable } from "./state-table";

export const shadowKey = (calibrationId: string, sinceSeq: number): string => `shadow:${calibrationId}@${sinceSeq}`;
export const versusKey = (calibrationId: string, sinceSeq: number): string => `versus:${calibrationId}@${sinceSeq}`;
export const armKey = (promotionId: string, step: number, arm: string): string => `arm:${promotionId}:${step}:${arm}`;

export class LiveEvidence {
  readonly #table: StateTable<LiveSums>;
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#table = new StateTable<LiveSums>(sql, "evidence");
  }

  /** Adds a batch's queries to the side `key`, starting it at `nowMs` when new. */
  add(key: string, queries: readonly QueryObservation[], nowMs: number): void {
    const prev = this.#table.get(key);
    const sums = prev?.sums ?? emptyClusterSums();
    for (const q of queries) addObservation(sums, q);
    this.#table.put(key, nowMs, { since: prev?.since ?? nowMs, sums });
  }

  /** Adds served queries to the comparison side of every shadow that has evidence. */
  addServed(queries: readonly QueryObservation[], nowMs: number): void {
    const shadows = this.#sql
      .exec<{ calibration_id: string }>(`SELECT calibration_id FROM evidence WHERE calibration_id LIKE 'shadow:%'`)
      .toArray()
      .map((r) => r.calibration_id.slice("shadow:".length));
    for (const c of shadows) this.add(`versus:${c}`, queries, nowMs);
  }

  /** Every side, by key. */
  all(): Record<string, LiveSums> {
    const rows = this.#sql.exec<{ calibration_id: string; state: string }>(`SELECT calibration_id, state FROM evidence`).toArray();
    return Object.fromEntries(rows.map((r) => [r.calibration_id, JSON.parse(r.state) as LiveSums]));
  }
}
