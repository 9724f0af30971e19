/**
 * The GateEvent of a change of a gate (src/contract/events.ts): what the activation log row stores (migrations/0008)
 * and what is pushed to the gate's subscribers. Written once here for every writer of the log, so the served state an
 * event carries is exactly what `GET /v1/threshold` answers.
 */
import {
  GATE_EVENT_VERSION,
  type GateEvent,
  type GateEventKind,
  type GateEventPromotion,
  NO_GUARDS,
  type ServedRollout,
  type ServedShadow,
  type StoredCalibration,
  type ThresholdResponse,
} from "../contract";

/** A GateEvent before D1 gives it its seq (the row's AUTOINCREMENT): what the `event` column stores. */
export type GateEventBody = Omit<GateEvent, "seq">;

/** The names of a gate, as a ThresholdResponse states them. */
export interface GateNames {
  readonly index: string;
  readonly embedding: string;
  readonly reranker: string;
}

/** What `GET /v1/threshold` answers for a gate serving `c`, activated at `activatedAt`. */
export function servedThreshold(gate: GateNames, c: StoredCalibration, activatedAt: string): ThresholdResponse {
  return {
    index: gate.index,
    embedding: gate.embedding,
    reranker: gate.reranker,
    threshold: c.threshold,
    calibration_id: c.id,
    index_version: c.index_version,
    policy: c.policy,
    score_scale: c.score_scale,
    expected_drop_rate: c.expected_drop_rate,
    fitted_at: c.created_at,
    activated_at: activatedAt,
    guards: c.guards ? { min_keep: c.guards.min_keep, max_keep: c.guards.max_keep } : NO_GUARDS,
    abstain_below: c.abstain_below ?? null,
  };
}

/** A calibration as a shadow or a promotion's candidate arm is served: what a client gates that traffic with. */
export const servedGate = (c: StoredCalibration): Omit<ServedShadow, "sample_rate" | "since_seq"> => ({
  calibration_id: c.id,
  index_version: c.index_version,
  threshold: c.threshold,
  expected_drop_rate: c.expected_drop_rate,
  guards: c.guards ? { min_keep: c.guards.min_keep, max_keep: c.guards.max_keep } : NO_GUARDS,
  abstain_below: c.abstain_below ?? null,
});

/** The gate's split and shadow set (gate_heads.rollout / shadows): served beside its current calibration. */
export interface GateHeads {
  readonly rollout: ServedRollout | null;
  readonly shadows: readonly ServedShadow[];
}

/** `served` with the gate's split and shadows after an event: what GET /v1/threshold and the pushed event carry. */
export const withHeads = (served: ThresholdResponse, heads: GateHeads): ThresholdResponse => ({
  ...served,
  rollout: heads.rollout,
  shadows: [...heads.shadows],
});

/**
 * The heads after an activation of `calibrationId`: a change of the control arm ends any split (the promotion
 * completed, or is superseded), and the activated calibration stops being a shadow.
 */
export const headsAfterActivation = (heads: GateHeads, calibrationId: string): GateHeads => ({
  rollout: null,
  shadows: heads.shadows.filter((s) => s.calibration_id !== calibrationId),
});

/** The event body of one row of the log, appended after the gate's row `prevSeq` (0: the gate's first). */
export function gateEventBody(input: {
  readonly gateId: string;
  readonly kind: GateEventKind;
  readonly prevSeq: number;
  readonly at: string;
  readonly actor: string;
  readonly reason: string | null;
  readonly calibrationId: string;
  readonly served: ThresholdResponse | null;
  readonly promotion?: GateEventPromotion | null;
  readonly details?: Record<string, unknown> | null;
}): GateEventBody {
  return {
    v: GATE_EVENT_VERSION,
    prev_seq: input.prevSeq,
    gate_id: input.gateId,
    kind: input.kind,
    at: input.at,
    actor: input.actor,
    reason: input.reason,
    calibration_id: input.calibrationId,
    served: input.served,
    promotion: input.promotion ?? null,
    details: input.details ?? null,
  };
}

/**
 * `since_seq` of a shadow its own `shadow_added` event adds: the event's seq is D1's AUTOINCREMENT, unknown until the
 * row is written, so the body says 0 and the written event (and gate_heads, d1-store.ts) says the row's seq.
 */
export const PENDING_SINCE_SEQ = 0;

/** The event of a row once written: its body with the seq D1 gave it. */
export function withSeq(body: GateEventBody, seq: number): GateEvent {
  const shadows = body.served?.shadows;
  if (body.served === null || shadows === undefined || !shadows.some((s) => s.since_seq === PENDING_SINCE_SEQ)) return { ...body, seq };
  const served = { ...body.served, shadows: shadows.map((s) => (s.since_seq === PENDING_SINCE_SEQ ? { ...s, since_seq: seq } : s)) };
  return { ...body, served, seq };
}
