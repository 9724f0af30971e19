import {
  type Activation,
  type ActivationOutcome,
  type GateEvent,
  isCalibrationChange,
  type ServedRollout,
  type ServedShadow,
  type StoredCalibration,
} from "../contract";
import { AppError } from "../platform/errors";
import { isUniqueViolation } from "../platform/sql";
import type { Distribution } from "../stats/distribution";
import { D1GateReads } from "./d1-gate-reads";
import {
  CHANGES_CALIBRATION,
  COMPLETING_PROMOTION,
  EVENT_COLUMNS,
  type EventDbRow,
  eventOf,
  HEAD_SEQ,
  type PendingDbRow,
  parseRecord,
  SHADOWS_WITH_SEQ,
  toPending,
} from "./d1-rows";
import { decodeDistribution, distributionText } from "./distribution-codec";
import type { ActiveRow, CalibrationStore, GateRow, GateState, HistoryPage, LogEntry, PendingListeners, UploadRequest } from "./store";

/**
 * D1 implementation of CalibrationStore: calibrations, the activation log and its listeners; the gate listings it
 * shares are in ./d1-gate-reads.ts. Built per request from `env.DB`.
 */
export class D1CalibrationStore extends D1GateReads implements CalibrationStore {
  /**
   * The statements that append one row to a gate's activation log (migrations/0008): the row, written only while the
   * gate's head is still `expectedSeq` (the state the caller computed against), the head moved to it, and for the
   * kinds that change the current calibration its active row. A D1 batch is one transaction, so of two concurrent
   * changes computed against the same head exactly one is written; the other changes nothing and is retried by its
   * service against the new state. The statements after the first find no row when it wrote none. Callers that write
   * more in the same batch (a promotion's own tables) put these first and check the first statement's changes.
   * The last statement writes the row's pending-listeners marker (migrations/0010), deleted once its listeners ran.
   */
  logStatements(entry: LogEntry, expectedSeq: number): D1PreparedStatement[] {
    const a = entry.activation;
    if (entry.event.prev_seq !== expectedSeq) {
      throw new RangeError(`event.prev_seq ${entry.event.prev_seq} is not the expected head ${expectedSeq}`);
    }
    // The split and the shadow set: written when the event states them, kept otherwise (rows from older writers).
    const served = entry.event.served;
    const rollout = served?.rollout === undefined ? null : JSON.stringify(served.rollout);
    const shadows = served?.shadows === undefined ? null : JSON.stringify(served.shadows);
    // A change of the gate's calibration waits for a completion under way (COMPLETING_PROMOTION): only that
    // completion's own activation (?12, its promotion) may be written then.
    const completing = entry.event.kind === "promotion_completed" ? (entry.event.promotion?.id ?? null) : null;
    const notCompleting = !isCalibrationChange(entry.event.kind)
      ? ""
      : completing === null
        ? ` AND ${COMPLETING_PROMOTION("?2")} IS NULL`
        : ` AND COALESCE(${COMPLETING_PROMOTION("?2")}, ?12) = ?12`;
    return [
      this.db
        .prepare(
          `INSERT INTO activations (id, gate_id, index_version, calibration_id, previous_calibration_id, activated_at, actor, reason, kind, prev_seq, event)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?9, ?11 WHERE ${HEAD_SEQ} = ?9${notCompleting}`,
        )
        .bind(
          a.id,
          a.gate_id,
          a.index_version,
          a.calibration_id,
          a.previous_calibration_id,
          a.activated_at,
          a.actor,
          a.reason,
          expectedSeq,
          entry.event.kind,
          JSON.stringify(entry.event),
          ...(completing === null ? [] : [completing]),
        ),
      this.db
        .prepare(
          `INSERT INTO gate_heads (gate_id, head_seq, rollout, shadows)
           SELECT gate_id, seq, CASE WHEN ?2 THEN ?3 END, COALESCE(${SHADOWS_WITH_SEQ}, '[]') FROM activations WHERE id = ?1
           ON CONFLICT (gate_id) DO UPDATE SET head_seq = excluded.head_seq,
             rollout = CASE WHEN ?2 THEN excluded.rollout ELSE gate_heads.rollout END,
             shadows = COALESCE(${SHADOWS_WITH_SEQ}, gate_heads.shadows)`,
        )
        .bind(a.id, served?.rollout === undefined ? 0 : 1, rollout, shadows),
      ...(isCalibrationChange(entry.event.kind)
        ? [
            this.db
              .prepare(
                `INSERT INTO active_calibrations (gate_id, index_version, calibration_id, activation_id, activation_seq, activated_at)
                 SELECT ?1, ?2, ?3, ?4, seq, ?5 FROM activations WHERE id = ?4
                 ON CONFLICT (gate_id, index_version) DO UPDATE SET
                   calibration_id = excluded.calibration_id, activation_id = excluded.activation_id,
                   activation_seq = excluded.activation_seq, activated_at = excluded.activated_at`,
              )
              .bind(a.gate_id, a.index_version, a.calibration_id, a.id, a.activated_at),
          ]
        : []),
      this.db
        .prepare(
          `INSERT INTO pending_listeners (activation_id, gate_id, committed_at, shift) SELECT id, gate_id, activated_at, ?2 FROM activations WHERE id = ?1`,
        )
        .bind(a.id, entry.shift ? JSON.stringify(entry.shift) : null),
    ];
  }

  async create(input: {
    gate: GateRow;
    calibration: StoredCalibration;
    distribution: Distribution;
    activation: LogEntry | null;
    expectedCurrentSeq?: number;
    request?: UploadRequest | null;
  }): Promise<{ readonly seq: number | null } | null> {
    const { gate, calibration: c, activation } = input;
    const request = input.request ?? null;
    const expected = input.expectedCurrentSeq ?? 0;
    // With an activation, the calibration row is conditional too (on the head, and on no completion under way, as the
    // activation's row is: logStatements): a lost race stores nothing at all.
    const guard = activation ? `WHERE ${HEAD_SEQ} = ?14 AND ${COMPLETING_PROMOTION("?2")} IS NULL` : "";
    const statements = [
      this.db
        .prepare(`INSERT OR IGNORE INTO gates (gate_id, idx, embedding, reranker, created_at) VALUES (?, ?, ?, ?, ?)`)
        .bind(gate.gate_id, gate.index, gate.embedding, gate.reranker, gate.created_at),
      this.db
        .prepare(
          `INSERT INTO calibrations (id, gate_id, index_version, threshold, expected_drop_rate, n, record, distribution, created_at, created_by,
             idempotency_key, request_hash, activation_outcome)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13 ${guard}`,
        )
        .bind(
          c.id,
          c.gate_id,
          c.index_version,
          c.threshold,
          c.expected_drop_rate,
          c.n,
          JSON.stringify(c),
          distributionText(input.distribution),
          c.created_at,
          c.created_by,
          request?.key ?? null,
          request?.hash ?? null,
          request === null ? null : JSON.stringify(request.outcome),
          ...(activation ? [expected] : []),
        ),
      ...(activation ? this.logStatements(activation, expected) : []),
    ];
    let results: D1Result[];
    try {
      results = await this.db.batch(statements);
    } catch (e) {
      // calibrations_by_request (migrations/0007): the same request committed meanwhile; its retry replays it.
      if (request !== null && isUniqueViolation(e, "calibrations.created_by")) {
        throw new AppError(
          "idempotency_in_progress",
          "this upload (the same Idempotency-Key and request) was stored meanwhile: retry to get its answer",
        );
      }
      throw e;
    }
    if (results[1]!.meta.changes !== 1) return null;
    return { seq: activation ? Number(results[2]!.meta.last_row_id) : null };
  }

  async byRequest(actor: string, key: string, hash: string): Promise<{ calibration: StoredCalibration; outcome: ActivationOutcome } | null> {
    const row = await this.db
      .prepare(`SELECT record, activation_outcome FROM calibrations WHERE created_by = ? AND idempotency_key = ? AND request_hash = ?`)
      .bind(actor, key, hash)
      .first<{ record: string; activation_outcome: string }>();
    return row ? { calibration: parseRecord(row.record), outcome: JSON.parse(row.activation_outcome) as ActivationOutcome } : null;
  }

  async get(id: string): Promise<StoredCalibration | null> {
    const row = await this.db.prepare(`SELECT record FROM calibrations WHERE id = ?`).bind(id).first<{ record: string }>();
    return row ? parseRecord(row.record) : null;
  }

  async distribution(id: string): Promise<Distribution | null> {
    const row = await this.db
      .prepare(`SELECT distribution FROM calibrations WHERE id = ?`)
      .bind(id)
      .first<{ distribution: string | ArrayBuffer | number[] }>();
    return row ? decodeDistribution(row.distribution) : null;
  }

  async history(gateId: string, limit: number, before: number | null): Promise<HistoryPage> {
    const { results } = await this.db
      .prepare(`SELECT seq, record FROM calibrations WHERE gate_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`)
      .bind(gateId, before ?? Number.MAX_SAFE_INTEGER, limit + 1)
      .all<{ seq: number; record: string }>();
    const page = results.slice(0, limit);
    return {
      items: page.map((r) => parseRecord(r.record)),
      next: results.length > limit ? page[page.length - 1]!.seq : null,
    };
  }

  async append(entry: LogEntry, expectedHeadSeq: number): Promise<number | null> {
    const [written] = await this.db.batch(this.logStatements(entry, expectedHeadSeq));
    return written!.meta.changes === 1 ? Number(written!.meta.last_row_id) : null;
  }

  async completingPromotion(gateId: string): Promise<string | null> {
    return (
      (
        await this.db
          .prepare(`SELECT ${COMPLETING_PROMOTION("?1")} AS id`)
          .bind(gateId)
          .first<{ id: string | null }>()
      )?.id ?? null
    );
  }

  async gateState(gateId: string): Promise<GateState> {
    const [rows, head, open] = await this.db.batch<unknown>([
      this.db.prepare(`SELECT * FROM active_calibrations WHERE gate_id = ? ORDER BY activation_seq DESC`).bind(gateId),
      this.db.prepare(`SELECT head_seq, rollout, shadows FROM gate_heads WHERE gate_id = ?`).bind(gateId),
      // The promotions feature's table (migrations/0009), read by its open-promotion index only: an activation must see
      // a promotion open in D1 whose start event is not logged yet (activation.ts isCurrent).
      this.db.prepare(`SELECT id FROM promotions WHERE gate_id = ? AND state IN ('running', 'paused') LIMIT 1`).bind(gateId),
    ]);
    const h = (head!.results as { head_seq: number; rollout: string | null; shadows: string }[])[0];
    return {
      promotionOpen: open!.results.length > 0,
      openPromotionId: (open!.results as { id: string }[])[0]?.id ?? null,
      rows: rows!.results as ActiveRow[],
      headSeq: h?.head_seq ?? 0,
      heads: { rollout: h?.rollout ? (JSON.parse(h.rollout) as ServedRollout) : null, shadows: h ? (JSON.parse(h.shadows) as ServedShadow[]) : [] },
    };
  }

  async events(gateId: string, afterSeq: number, limit: number): Promise<GateEvent[]> {
    const { results } = await this.db
      .prepare(`SELECT ${EVENT_COLUMNS} WHERE a.gate_id = ? AND a.seq > ? ORDER BY a.seq LIMIT ?`)
      .bind(gateId, afterSeq, limit)
      .all<EventDbRow>();
    return results.map(eventOf);
  }

  async eventsBefore(gateId: string, beforeSeq: number | null, limit: number): Promise<GateEvent[]> {
    const { results } = await (beforeSeq === null
      ? this.db.prepare(`SELECT ${EVENT_COLUMNS} WHERE a.gate_id = ? ORDER BY a.seq DESC LIMIT ?`).bind(gateId, limit)
      : this.db.prepare(`SELECT ${EVENT_COLUMNS} WHERE a.gate_id = ? AND a.seq < ? ORDER BY a.seq DESC LIMIT ?`).bind(gateId, beforeSeq, limit)
    ).all<EventDbRow>();
    return results.map(eventOf);
  }

  async latestEvent(gateId: string): Promise<GateEvent | null> {
    const row = await this.db.prepare(`SELECT ${EVENT_COLUMNS} WHERE a.gate_id = ? ORDER BY a.seq DESC LIMIT 1`).bind(gateId).first<EventDbRow>();
    return row ? eventOf(row) : null;
  }

  async logEntry(activationId: string): Promise<{ activation: Activation; event: GateEvent } | null> {
    const row = await this.db
      .prepare(`SELECT a.id, a.index_version, a.previous_calibration_id, ${EVENT_COLUMNS} WHERE a.id = ?`)
      .bind(activationId)
      .first<EventDbRow & { id: string; index_version: string; previous_calibration_id: string | null }>();
    if (row === null) return null;
    const { id, gate_id, index_version, calibration_id, previous_calibration_id, activated_at, actor, reason } = row;
    return { activation: { id, gate_id, index_version, calibration_id, previous_calibration_id, activated_at, actor, reason }, event: eventOf(row) };
  }

  async pendingListeners(committedBefore: string, limit: number): Promise<PendingListeners[]> {
    const { results } = await this.db
      .prepare(`SELECT * FROM pending_listeners WHERE committed_at <= ? ORDER BY committed_at, activation_id LIMIT ?`)
      .bind(committedBefore, limit)
      .all<PendingDbRow>();
    return results.map(toPending);
  }

  async pendingListenersOf(activationId: string): Promise<PendingListeners | null> {
    const row = await this.db.prepare(`SELECT * FROM pending_listeners WHERE activation_id = ?`).bind(activationId).first<PendingDbRow>();
    return row ? toPending(row) : null;
  }

  async listenersRan(activationId: string): Promise<void> {
    await this.db.prepare(`DELETE FROM pending_listeners WHERE activation_id = ?`).bind(activationId).run();
  }

  async activations(gateId: string, limit: number): Promise<Activation[]> {
    const { results } = await this.db
      .prepare(
        `SELECT id, gate_id, index_version, calibration_id, previous_calibration_id, activated_at, actor, reason
         FROM activations WHERE gate_id = ? AND ${CHANGES_CALIBRATION} ORDER BY seq DESC LIMIT ?`,
      )
      .bind(gateId, limit)
      .all<Activation>();
    return results;
  }
}
