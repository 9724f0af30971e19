/**
 * The live evidence of a gate's shadows and promotion arms: cluster sums (stats/per-query.ts) of the queries counted
 * for each, kept apart from the drift windows so they can never raise the gate's alerts. Keys:
 * - `shadow:<calibration>@<seq>`: the mirrored queries a shadow gated, since its `shadow_added` event `seq` (a shadow
 *   removed and added again starts afresh);
 * - `versus:<calibration>@<seq>`: the gate's served queries counted since that shadow's first batch (the same time
 *   span, so a daily traffic shift moves both sides);
 * - `arm:<promotion>:<step>:<arm>`: a promotion arm's queries per step (a late batch counts for the step it carries).
 *   The candidate arm's row also holds its drift window for the step (../window.ts, the gate's own detector against
 *   the candidate calibration's expectation) and its first alarm, which stops the step.
 * Each row counts its queries with the guards of the calibration that started it (LiveSums.guards), so a guarded
 * calibration's target can be taken for the row's own query sizes (../live-decision.ts targetSide).
 * Retention: the rows of a closed promotion or a removed shadow are deleted by prefix (forget); any row idle for
 * EVIDENCE_IDLE_RETENTION_MS is forgotten too. Owns the table `evidence` (migrations.ts). Read by live-decision.ts
 * through the host's `evidence()`.
 */
import type { Expectation } from "../../calibrations/expectation";
import type { ArmDrift } from "../../contract";
import { EVIDENCE_IDLE_RETENTION_MS } from "../../platform/limits";
import { NO_GUARDS } from "../../stats/guarded-gate";
import { addObservation, emptyClusterSums, type QueryObservation } from "../../stats/per-query";
import { type ArmEvidence, armKey, type LiveSums } from "../monitor-contract";
import type { WindowState } from "../window";
import { StateTable } from "./state-table";

/** A row as stored: the candidate arm's also carries the detector's window, which is never sent over RPC. */
interface StoredSide extends LiveSums {
  readonly armWindow?: WindowState;
}

/** The candidate arm's drift after a batch: the window to keep and what readers see. */
export interface ArmDriftUpdate {
  readonly window: WindowState;
  readonly view: ArmDrift;
}

const visible = ({ armWindow: _, ...side }: StoredSide): LiveSums => side;

export class LiveEvidence {
  readonly #table: StateTable<StoredSide>;
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#table = new StateTable<StoredSide>(sql, "evidence");
  }

  /**
   * Adds a batch's queries to the side `key`, starting it at `nowMs` when new; `drift` replaces the arm's detector.
   * `guards` are those of the batch's calibration: a new row splits its counts with them for its whole life (a row
   * started before they were kept goes on without, so its strata never mix two ways of counting).
   */
  add(key: string, queries: readonly QueryObservation[], nowMs: number, guards: Expectation["guards"], drift?: ArmDriftUpdate): void {
    const prev = this.#table.get(key);
    const sums = prev?.sums ?? emptyClusterSums();
    const kept = prev === undefined ? { min_keep: guards?.min_keep ?? 0, max_keep: guards?.max_keep ?? null } : prev.guards;
    const split = kept ? { minKeep: kept.min_keep, maxKeep: kept.max_keep } : NO_GUARDS;
    for (const q of queries) addObservation(sums, q, split);
    const carried = drift ?? (prev?.armWindow && prev.drift ? { window: prev.armWindow, view: prev.drift } : undefined);
    this.#table.put(key, nowMs, {
      since: prev?.since ?? nowMs,
      sums,
      ...(kept ? { guards: kept } : {}),
      ...(carried ? { drift: carried.view, armWindow: carried.window } : {}),
    });
  }

  /** The candidate arm's drift window and first alarm so far this step (undefined before its first batch). */
  armDrift(key: string): { window: WindowState; alarm: ArmDrift["alarm"] } | undefined {
    const row = this.#table.get(key);
    return row?.armWindow && row.drift ? { window: row.armWindow, alarm: row.drift.alarm } : undefined;
  }

  /** Adds served queries (gated with `guards`) to the comparison side of every shadow that has evidence. */
  addServed(queries: readonly QueryObservation[], nowMs: number, guards: Expectation["guards"]): void {
    for (const c of this.#shadowStints()) this.add(`versus:${c}`, queries, nowMs, guards);
  }

  /** `<calibration>@<seq>` of every shadow row. */
  #shadowStints(): string[] {
    return this.#sql
      .exec<{ calibration_id: string }>(`SELECT calibration_id FROM evidence WHERE calibration_id LIKE 'shadow:%'`)
      .toArray()
      .map((r) => r.calibration_id.slice("shadow:".length));
  }

  /** Both arms of a promotion step. */
  arms(promotionId: string, step: number): ArmEvidence {
    const side = (arm: string) => {
      const row = this.#table.get(armKey(promotionId, step, arm));
      return row === undefined ? null : visible(row);
    };
    return { candidate: side("candidate"), control: side("control") };
  }

  /**
   * The drift window of each promotion's candidate arm in its newest step, among the arms that counted a batch since
   * `sinceMs` (a closed promotion's rows are deleted when it closes; these stop showing a day after their last batch
   * should that deletion have failed).
   */
  candidateWindows(sinceMs: number): { promotion: { id: string; step: number }; window: WindowState }[] {
    const newest = new Map<string, { promotion: { id: string; step: number }; window: WindowState }>();
    const rows = this.#sql
      .exec<{ calibration_id: string; state: string }>(
        `SELECT calibration_id, state FROM evidence WHERE calibration_id LIKE 'arm:%:candidate' AND updated_at >= ?`,
        sinceMs,
      )
      .toArray();
    for (const r of rows) {
      const m = /^arm:(.+):(\d+):candidate$/u.exec(r.calibration_id);
      const window = (JSON.parse(r.state) as StoredSide).armWindow;
      if (m === null || window === undefined) continue;
      const promotion = { id: m[1]!, step: Number(m[2]) };
      if ((newest.get(promotion.id)?.promotion.step ?? -1) < promotion.step) newest.set(promotion.id, { promotion, window });
    }
    return [...newest.values()];
  }

  /** The calibrations with a shadow's evidence row (they counted shadow batches in their current stint). */
  shadowCalibrations(): Set<string> {
    return new Set(this.#shadowStints().map((s) => s.replace(/@\d+$/u, "")));
  }

  /** Every side, by key. */
  all(): Record<string, LiveSums> {
    const rows = this.#sql.exec<{ calibration_id: string; state: string }>(`SELECT calibration_id, state FROM evidence`).toArray();
    return Object.fromEntries(rows.map((r) => [r.calibration_id, visible(JSON.parse(r.state) as StoredSide)]));
  }

  /** Deletes every row whose key starts with one of `prefixes` (compared literally: ids hold `_`, a LIKE wildcard). */
  forget(prefixes: readonly string[]): number {
    let n = 0;
    for (const p of prefixes) n += this.#sql.exec(`DELETE FROM evidence WHERE substr(calibration_id, 1, ?) = ?`, p.length, p).rowsWritten;
    return n;
  }

  /** Forgets rows with no batch for EVIDENCE_IDLE_RETENTION_MS. */
  forgetIdle(nowMs: number): void {
    this.#table.forgetIdleSince(nowMs - EVIDENCE_IDLE_RETENTION_MS);
  }
}
