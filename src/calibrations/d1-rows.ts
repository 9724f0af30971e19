/**
 * The D1 rows of the calibration store as its queries read them, and the SQL fragments those queries share
 * (d1-store.ts): gate rows, activation-log events (stored, or rebuilt for rows from before migrations/0008), pending
 * listeners and the active rows' served numbers.
 */
import { CALIBRATION_CHANGE_KINDS, type GateEvent, type GateEventKind, type ShiftReport, type StoredCalibration } from "../contract";
import { type GateEventBody, gateEventBody, PENDING_SINCE_SEQ, servedThreshold, withSeq } from "./gate-event";
import type { GateRow, PendingListeners } from "./store";

export interface GateDbRow {
  gate_id: string;
  idx: string;
  embedding: string;
  reranker: string;
  created_at: string;
}

export const toGate = (r: GateDbRow): GateRow => ({
  gate_id: r.gate_id,
  index: r.idx,
  embedding: r.embedding,
  reranker: r.reranker,
  created_at: r.created_at,
});

/** The gate's head seq (0 when its log is empty); `?2` is the gate id. */
export const HEAD_SEQ = `COALESCE((SELECT head_seq FROM gate_heads WHERE gate_id = ?2), 0)`;

/**
 * The promotion of gate `gate` whose completion is written in its state of record but not applied yet (the store's
 * completingPromotion), or NULL: the promotion is `completed` while its control is still the gate's current
 * calibration, its completion's audit row has no log event, and the log holds no completion of it (one applied, then
 * rolled back to the control before its audit row was linked, is done). Read through the gate's promotions
 * (promotions_by_gate) and their audit rows (promotion_steps_by_promotion): a gate has few. The promotions feature's
 * tables (migrations/0009), read here so that another change of the gate's calibration cannot land between a
 * completion and the candidate's activation: it would be undone by that activation, or leave a promotion "completed"
 * whose candidate was never served.
 */
export const COMPLETING_PROMOTION = (gate: string) => `(SELECT p.id FROM promotion_steps s JOIN promotions p ON p.id = s.promotion_id
  WHERE s.seq IS NULL AND s.kind = 'completed' AND p.gate_id = ${gate} AND p.state = 'completed'
    AND p.control_calibration_id = (SELECT calibration_id FROM active_calibrations a WHERE a.gate_id = ${gate} ORDER BY a.activation_seq DESC LIMIT 1)
    AND NOT EXISTS (SELECT 1 FROM activations x WHERE x.gate_id = ${gate} AND x.kind = 'promotion_completed'
      AND json_extract(x.event, '$.promotion.id') = p.id)
  LIMIT 1)`;

/**
 * The shadow set `?4` (JSON, or NULL: unchanged) with the pending `since_seq` of a shadow its own event adds set to the
 * row's seq (gate-event.ts, PENDING_SINCE_SEQ); `?1` is the row's id.
 */
export const SHADOWS_WITH_SEQ = `CASE WHEN ?4 IS NOT NULL THEN (SELECT json_group_array(CASE WHEN json_extract(value, '$.since_seq') = ${PENDING_SINCE_SEQ}
  THEN json_set(value, '$.since_seq', (SELECT seq FROM activations WHERE id = ?1)) ELSE json(value) END) FROM json_each(?4)) END`;

/** `kind IN (...)` of the rows that change a gate's current calibration. */
export const CHANGES_CALIBRATION = `kind IN (${CALIBRATION_CHANGE_KINDS.map((k) => `'${k}'`).join(", ")})`;

/** A row of the activation log as the event queries read it. */
export interface EventDbRow {
  seq: number;
  prev_seq: number | null;
  kind: GateEventKind;
  event: string | null;
  gate_id: string;
  calibration_id: string;
  activated_at: string;
  actor: string;
  reason: string | null;
  /** Only for rows from before migrations/0008 (no stored event): the calibration's record and the gate's names. */
  record: string | null;
  idx: string | null;
  embedding: string | null;
  reranker: string | null;
}

export const EVENT_COLUMNS = `a.seq, a.prev_seq, a.kind, a.event, a.gate_id, a.calibration_id, a.activated_at, a.actor, a.reason,
  CASE WHEN a.event IS NULL THEN c.record END AS record, CASE WHEN a.event IS NULL THEN g.idx END AS idx,
  CASE WHEN a.event IS NULL THEN g.embedding END AS embedding, CASE WHEN a.event IS NULL THEN g.reranker END AS reranker
  FROM activations a JOIN calibrations c ON c.id = a.calibration_id JOIN gates g ON g.gate_id = a.gate_id`;

/** The stored event, or (rows from before 0008, all activations) the event rebuilt from the row and its calibration. */
export function eventOf(r: EventDbRow): GateEvent {
  if (r.event !== null) return withSeq(JSON.parse(r.event) as GateEventBody, r.seq);
  const body = gateEventBody({
    gateId: r.gate_id,
    kind: r.kind,
    prevSeq: r.prev_seq ?? 0,
    at: r.activated_at,
    actor: r.actor,
    reason: r.reason,
    calibrationId: r.calibration_id,
    served: servedThreshold({ index: r.idx!, embedding: r.embedding!, reranker: r.reranker! }, parseRecord(r.record!), r.activated_at),
  });
  return withSeq(body, r.seq);
}

export interface PendingDbRow {
  activation_id: string;
  gate_id: string;
  committed_at: string;
  shift: string | null;
}

export const toPending = (r: PendingDbRow): PendingListeners => ({ ...r, shift: r.shift === null ? null : (JSON.parse(r.shift) as ShiftReport) });

export const parseRecord = (record: string): StoredCalibration => JSON.parse(record) as StoredCalibration;

/** An active row's served numbers: its calibration's threshold and expected drop rate (columns). */
export const SUMMARY_COLUMNS = "c.threshold, c.expected_drop_rate";

/**
 * Its guards and abstention cutoff, from the record (calibrations stored before guards have none: 0, null, null): a
 * JSON parse per row, so read only where they are shown (/metrics), not by the gate listings.
 */
export const GUARD_COLUMNS = `coalesce(json_extract(c.record, '$.guards.min_keep'), 0) AS min_keep,
  json_extract(c.record, '$.guards.max_keep') AS max_keep, json_extract(c.record, '$.abstain_below') AS abstain_below`;
