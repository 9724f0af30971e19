/**
 * The system of record for gates, calibrations and activations (D1 in production, memory in unit tests).
 *
 * Consistency: D1 is strongly consistent within one database; `create` and `append` are single atomic batches, so
 * a row of the activation log, the active-state row it implies and the gate's head are never seen apart. Calibrations
 * are immutable; the activation log is append-only. Ordering uses the database's own sequence numbers (`seq`), never
 * wall-clock ties.
 *
 * The activation log holds every change of a gate a client acts on (src/contract/events.ts GATE_EVENT_KINDS), each
 * with the GateEvent pushed for it; the gate's head (`gate_heads.head_seq`, migrations/0008) is the seq of its newest
 * row, and every row is written only while the head is still the one its writer computed against.
 */

import type { Activation, ActivationOutcome, GateEvent, ShiftReport, StoredCalibration } from "../contract";
import type { Distribution } from "../stats/distribution";
import type { GateEventBody, GateHeads } from "./gate-event";

export interface GateRow {
  readonly gate_id: string;
  readonly index: string;
  readonly embedding: string;
  readonly reranker: string;
  readonly created_at: string;
}

/** One (gate, index_version) and its active calibration. */
export interface ActiveRow {
  readonly gate_id: string;
  readonly index_version: string;
  readonly calibration_id: string;
  readonly activation_id: string;
  /** Database order of the activation: the greatest is the gate's current calibration. */
  readonly activation_seq: number;
  readonly activated_at: string;
}

/** An active row with the served numbers of its calibration (one query for listings). */
export interface ActiveSummary extends ActiveRow {
  readonly threshold: number | null;
  readonly expected_drop_rate: number;
}

/** An active row with everything its calibration serves: also the guards and abstention cutoff (/metrics). */
export interface ServedSummary extends ActiveSummary {
  /** 0, null and null when the calibration has none. */
  readonly min_keep: number;
  readonly max_keep: number | null;
  readonly abstain_below: number | null;
}

export interface HistoryPage {
  readonly items: StoredCalibration[];
  /** Pass back as `before` for the next (older) page; null on the last page. */
  readonly next: number | null;
}

/** A page of gates in creation order, with the active rows of those gates only. */
export interface GatePage {
  readonly gates: GateRow[];
  /** The active rows (with their calibration's threshold and expected drop rate) of the gates of this page. */
  readonly active: ActiveSummary[];
  /** Pass back as `after` for the next page; null on the last page. */
  readonly next: number | null;
}

/**
 * The Idempotency-Key request that created a calibration, written in the same batch: a request that dies after the
 * commit and before its key is completed is found by its retry (upload-service.ts) instead of calibrating again.
 */
export interface UploadRequest {
  /** The Idempotency-Key (per token name: the calibration's created_by). */
  readonly key: string;
  /** The request's hash (src/platform/idempotency.ts requestHash). */
  readonly hash: string;
  readonly outcome: ActivationOutcome;
}

/** One row of the activation log to append: the row's columns and the event pushed for it. */
export interface LogEntry {
  /**
   * The row. For kinds other than activation and promotion_completed, `calibration_id` is the calibration the event is
   * about (shadowed, promoted) and the gate's active rows do not change.
   */
  readonly activation: Activation;
  /** The event (its `kind` is the row's kind; its `prev_seq` must be the expected head). */
  readonly event: GateEventBody;
  /** The shift report the row's listeners get (stored with its pending marker); omitted: none. */
  readonly shift?: ShiftReport | null;
}

/**
 * A committed row of the activation log whose listeners have not all run (migrations/0010): written with the row, in
 * its batch; deleted once they ran (src/calibrations/pending-listeners.ts).
 */
export interface PendingListeners {
  readonly activation_id: string;
  readonly gate_id: string;
  /** The row's activated_at. */
  readonly committed_at: string;
  readonly shift: ShiftReport | null;
}

/** A gate's active rows and the head of its log, read together (one transaction). */
export interface GateState {
  /** Current (greatest activation_seq) first. */
  readonly rows: ActiveRow[];
  /** The seq of the gate's newest log row (0: none): what a conditional write compares with. */
  readonly headSeq: number;
  /** The running promotion's split (null: none) and the shadow set, as the newest event left them. */
  readonly heads: GateHeads;
  /**
   * Whether the gate has an open (running or paused) promotion in its state of record (the promotions feature's D1
   * table), read with the rest: true from the promotion's start, even before its start event reaches the log and
   * `heads.rollout`.
   */
  readonly promotionOpen: boolean;
  /** That open promotion's id (null: none), for what an activation that ends it says (activation-plan.ts). */
  readonly openPromotionId: string | null;
}

/** What a gate serves besides its calibrations, as its head and its open promotion hold them (the dashboard's listings). */
export interface GateSplit {
  /** The running promotion's split (null: none) and the shadow set, as the newest event left them. */
  readonly heads: GateHeads;
  /** As GateState's: an open promotion in its state of record, even before its start event reaches the head. */
  readonly promotionOpen: boolean;
}

/** A gate with no head and no open promotion: what `splits` reads for a gate with no log. */
export const NO_SPLIT: GateSplit = { heads: { rollout: null, shadows: [] }, promotionOpen: false };

export interface CalibrationStore {
  /**
   * Stores a calibration (and its gate, first time seen) and optionally its activation, in one atomic batch. With an
   * activation, `expectedCurrentSeq` is the gate's head seq the caller computed against (0: none): when another change
   * of the gate landed in between, nothing is stored and it returns null (the caller recomputes and retries). Stored,
   * it returns the activation's seq (null without an activation).
   */
  create(input: {
    gate: GateRow;
    calibration: StoredCalibration;
    distribution: Distribution;
    activation: LogEntry | null;
    expectedCurrentSeq?: number;
    /** At most one calibration is ever stored per (created_by, key, hash): a second is refused (409 conflict). */
    request?: UploadRequest | null;
  }): Promise<{ readonly seq: number | null } | null>;
  /** The calibration the upload `(actor, key, hash)` committed, with its activation outcome; null when none. */
  byRequest(actor: string, key: string, hash: string): Promise<{ calibration: StoredCalibration; outcome: ActivationOutcome } | null>;
  get(id: string): Promise<StoredCalibration | null>;
  distribution(id: string): Promise<Distribution | null>;
  /** Newest first; `before` is the `next` of the previous page. */
  history(gateId: string, limit: number, before: number | null): Promise<HistoryPage>;
  /**
   * Appends a row to the gate's activation log (for the calibration-changing kinds, also moves the (gate,
   * index_version) active row to it), atomically, only if the gate's head seq is still `expectedHeadSeq` (0: none).
   * Returns the row's seq, or null, storing nothing, when another change landed first: one gate's log is one linear
   * history.
   */
  append(entry: LogEntry, expectedHeadSeq: number): Promise<number | null>;
  /** The gate's active rows and head seq, read in one transaction. */
  gateState(gateId: string): Promise<GateState>;
  /**
   * The promotion of the gate whose completion is written but whose candidate is not activated yet (null: none): no
   * other change of the gate's calibration is written meanwhile (the store refuses it; activation.ts
   * refuseWhileCompleting). Read by the writers only, apart from gateState, which the read paths use.
   */
  completingPromotion(gateId: string): Promise<string | null>;
  /**
   * The heads and open-promotion flags of many gates, the same as gateState reads each, in one statement per
   * D1_MAX_BOUND_PARAMETERS gates (not one transaction: each gate's entry is read at once, the gates need not agree).
   * A gate with neither a head nor an open promotion (or not stored) is absent from the map: read it as NO_SPLIT.
   */
  splits(gateIds: readonly string[]): Promise<Map<string, GateSplit>>;
  /** Up to `limit` events of the gate after seq `afterSeq`, oldest first. */
  events(gateId: string, afterSeq: number, limit: number): Promise<GateEvent[]>;
  /**
   * Up to `limit` events of the gate before seq `beforeSeq` (null: from its newest), newest first: for a reader that
   * looks for a recent row and stops there (log-pages.ts logPagesNewestFirst).
   */
  eventsBefore(gateId: string, beforeSeq: number | null, limit: number): Promise<GateEvent[]>;
  /** The gate's newest event; null when its log is empty. */
  latestEvent(gateId: string): Promise<GateEvent | null>;
  gate(gateId: string): Promise<GateRow | null>;
  gates(): Promise<GateRow[]>;
  /** Every active row of a gate, current (greatest activation_seq) first. */
  activeRows(gateId: string): Promise<ActiveRow[]>;
  /** Every active row of every gate (reconciliation). */
  allActiveRows(): Promise<ActiveRow[]>;
  /** Every active row with its calibration's threshold and expected drop rate (the dashboard's overview). */
  activeSummaries(): Promise<ActiveSummary[]>;
  /** The same with each calibration's guards and abstention cutoff, read from its record (GET /metrics only). */
  servedSummaries(): Promise<ServedSummary[]>;
  /**
   * GET /v1/gates: up to `limit` gates created after the one whose database order is `after` (null: from the first),
   * with their active rows, read in one transaction so the page and its rows agree.
   */
  gatePage(limit: number, after: number | null): Promise<GatePage>;
  /**
   * Calibrated gates near a gate that has none, for a 404's "did you mean": first those with the same embedding and
   * reranker under another index, then those sharing the index and one of embedding or reranker.
   */
  calibratedNeighbours(gate: { index: string; embedding: string; reranker: string }, limit: number): Promise<GateRow[]>;
  /** The log row `activationId` as its listeners see it; null when there is none. */
  logEntry(activationId: string): Promise<{ activation: Activation; event: GateEvent } | null>;
  /** Markers committed at or before `committedBefore`, oldest first, at most `limit`. */
  pendingListeners(committedBefore: string, limit: number): Promise<PendingListeners[]>;
  /** The row's marker; null when its listeners all ran (or it has none). */
  pendingListenersOf(activationId: string): Promise<PendingListeners | null>;
  /** Deletes the row's marker: its listeners all ran. */
  listenersRan(activationId: string): Promise<void>;
  /** Activation audit of a gate (the rows that changed its current calibration, CALIBRATION_CHANGE_KINDS), newest first. */
  activations(gateId: string, limit: number): Promise<Activation[]>;
}

/** The gate's current row: the most recently activated of its active rows. */
export function currentOf(rows: readonly ActiveRow[]): ActiveRow | null {
  let best: ActiveRow | null = null;
  for (const r of rows) if (best === null || r.activation_seq > best.activation_seq) best = r;
  return best;
}
