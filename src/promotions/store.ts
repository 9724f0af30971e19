/**
 * Where promotions live (D1, migrations/0009_promotions.sql): the promotion's state of record and its audit rows.
 * Consistency: D1 is strongly consistent; every transition is one atomic batch conditional on the promotion's version,
 * so two deciders (the monitor's outbox and an admin override) never both apply: the second changes nothing. The
 * transition's event is written to the gate's activation log after that batch (event-log.ts); an audit row's `seq` stays
 * NULL until it is, which is what the cron's repair looks for (`unlogged`, migrations/0011).
 */
import type { PromotionStepRecord } from "../contract";
import type { ClaimedPromotion } from "../monitoring/deps";

/** A promotion's row: what the monitor reads of a promotion a batch claims (monitoring/deps.ts), and its history. */
export interface PromotionRow extends ClaimedPromotion {
  readonly version: number;
  readonly started_at: string;
  readonly updated_at: string;
  readonly actor: string;
}

/** What storing a new promotion did (PromotionStore.create). */
export type CreateOutcome = "created" | "open_exists" | "control_replaced";

export interface PromotionStore {
  /**
   * Stores a new promotion and its first audit row, in one batch conditional on the gate's current calibration still
   * being the row's control: `open_exists` (nothing stored) when the gate already has an open promotion,
   * `control_replaced` (nothing stored) when another calibration was activated since the caller read the control.
   */
  create(row: PromotionRow, first: PromotionStepRecord): Promise<CreateOutcome>;
  get(id: string): Promise<PromotionRow | null>;
  /**
   * The promotion of `candidateId` on gate `gateId` whose start was made by the request whose digest is `request` (its
   * `started` audit row's `numbers.request`, idempotent.ts), or null: how a retried start finds the promotion its
   * first attempt stored before it died.
   */
  startedBy(gateId: string, candidateId: string, request: string): Promise<PromotionRow | null>;
  /** The gate's open (running or paused) promotion, if any. */
  open(gateId: string): Promise<PromotionRow | null>;
  /** Running promotions of every gate, the longest in their current state first, at most `limit` (the cron's sweep). */
  running(limit: number): Promise<PromotionRow[]>;
  /**
   * The gate's promotions, newest first, `limit` of them started before the one whose order `before` names (null: the
   * first page); `next` is the order of the page's last row (null: no more). The order is the row's insertion order,
   * so a promotion started while a client pages never shifts a page it has not read yet into one it has.
   */
  list(gateId: string, limit: number, before: number | null): Promise<{ rows: PromotionRow[]; next: number | null }>;
  /** Audit rows of a promotion, oldest first. */
  steps(id: string): Promise<PromotionStepRecord[]>;
  /**
   * Applies a transition: the row moves to `next` only if its version is still `expectedVersion`, and the audit row is
   * inserted in the same batch (ignored when its id exists: a replay). With `whileServing` (a completion: the row's
   * control), also only if that calibration is still the gate's current one. False when either no longer holds
   * (nothing changed).
   */
  transition(
    id: string,
    expectedVersion: number,
    next: Pick<PromotionRow, "state" | "step" | "updated_at">,
    record: PromotionStepRecord,
    whileServing?: string,
  ): Promise<boolean>;
  /** Records the activation-log seq of an audit row once its event is appended (and its alert raised). */
  setSeq(recordId: string, seq: number): Promise<void>;
  /**
   * The seq of the activation-log row `logId` (the id an audit row's event is written under, event-log.ts logIdOf), or
   * null when no such row exists: how a retry or a repair tells an event already written from one still to write.
   */
  loggedSeq(logId: string): Promise<number | null>;
  /**
   * Audit rows whose event is not linked to the gate's log yet (seq NULL: the request that wrote the transition died,
   * or its log write failed), oldest first, at most `limit`, each with its promotion's current row (the cron's repair).
   */
  unlogged(limit: number): Promise<UnloggedRecord[]>;
}

/** An audit row still without its log event, and its promotion as it is now. */
export interface UnloggedRecord {
  readonly record: PromotionStepRecord;
  readonly promotion: PromotionRow;
  /** Whether it is the promotion's newest audit row (the promotion is still in the state it recorded). */
  readonly latest: boolean;
}
