/**
 * The bodies the TypeScript clients name in their public types, written as plain TypeScript (no zod). A client's
 * published declarations (`packages/<name>/dist/*.d.ts`) inline the contract types it uses; inferred from the zod
 * schemas (`z.infer<typeof ThresholdResponse>`), they would make every user's type-checking load zod's types and need
 * zod installed, for a package that never runs zod. wire-types-match.ts proves at compile time (`npm run typecheck`)
 * that each type here equals the type its schema infers, so the two cannot drift apart.
 *
 * Import only types from this module and only from clients; the Worker and the CLI use the schemas' own types.
 */
import type { ERROR_CODES } from "./errors";

/** One of the API's error codes (src/contract/errors.ts). */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The error envelope of every non-2xx JSON response. */
export interface ErrorResponse {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** How calibration scores are scaled (`score_scale`). */
export type ScoreScale = "probability" | "logit" | "unbounded";

/** What a recall gate guarantees for a fresh query. */
export type CoverageNotion = "any_relevant" | "all_relevant" | "candidates";

/** How a calibration abstains, as stored: a false-abstention level, a target rate, or the reference's rate carried. */
export type StoredAbstention = { alpha: number } | { rate: number } | "carry";

/** A calibration's policy as stored and echoed (inline reference scores are replaced by their count). The guard fields are present only when the upload set them. */
export type StoredPolicy =
  | {
      kind: "drop_rate";
      target: number;
      min_keep?: number | undefined;
      max_keep?: number | null | undefined;
      abstention?: StoredAbstention | undefined;
    }
  | {
      kind: "recall";
      target: number;
      coverage: CoverageNotion;
      min_keep?: number | undefined;
      max_keep?: number | null | undefined;
      abstention?: StoredAbstention | undefined;
    }
  | {
      kind: "carry";
      threshold: number | null;
      reference: "active" | { calibration_id: string } | { inline_scores: number };
      min_keep?: number | undefined;
      max_keep?: number | null | undefined;
      abstention?: StoredAbstention | undefined;
    };

/**
 * The per-query guards a gate applies with its threshold: keep at least the top `min_keep` scored candidates of every
 * query (all of a shorter one) and at most `max_keep`. `{ min_keep: 0, max_keep: null }` is no guard.
 */
export interface ThresholdGuards {
  min_keep: number;
  max_keep: number | null;
}

/** The body of `GET /v1/threshold`. */
export interface ThresholdResponse {
  index: string;
  embedding: string;
  reranker: string;
  /** Keep a candidate iff `score >= threshold`; null keeps everything. */
  threshold: number | null;
  calibration_id: string;
  index_version: string;
  policy: StoredPolicy;
  score_scale: ScoreScale;
  expected_drop_rate: number;
  fitted_at: string;
  activated_at: string;
  /** Always present; a server from before guards sends neither this nor `abstain_below` (clients read: no guards). */
  guards: ThresholdGuards;
  /** A query whose top score is below this abstains (nothing kept); null: never. */
  abstain_below: number | null;
  // --- promotion contract: optional, always sent by a server with promotions; absent reads as null and [] ---
  /** The running or paused promotion's split; null: none (everyone is served the fields above). */
  rollout?: ServedRollout | null | undefined;
  /** The gate's shadow calibrations: mirrored traffic is gated with them and reported with `role: "shadow"`. */
  shadows?: ServedShadow[] | undefined;
}

/** A calibration's gate as a client applies it (a shadow's or a promotion candidate's). */
export interface ServedGate {
  calibration_id: string;
  index_version: string;
  threshold: number | null;
  expected_drop_rate: number;
  guards: ThresholdGuards;
  abstain_below: number | null;
}

/** One shadow: mirror the queries whose key hashes below `sample_rate` (salted with the calibration id). */
export interface ServedShadow extends ServedGate {
  sample_rate: number;
  since_seq: number;
}

/**
 * A promotion's split: a keyed request whose bucket (murmur3_x86_32 of `salt + ":" + key` scaled to 0..9999) is
 * below `percent_bp` is served `candidate`; other keyed requests control; unkeyed ones control, arm `unassigned`.
 */
export interface ServedRollout {
  promotion_id: string;
  step: number;
  percent_bp: number;
  salt: string;
  state: "running" | "paused";
  candidate: ServedGate;
}

/** The arm of a promotion a batch's queries were served. */
export type PromotionArm = "control" | "candidate" | "unassigned";

/** One query of an observation batch (see ObservationBatch.queries). */
export type QueryCounts = [number, number] | [number, number, number, 0 | 1] | [number, number, number, 0 | 1, number];

/** The body of `POST /v1/observations`: the counts of up to MAX_OBSERVATION_QUERIES queries of one calibration or gate. */
export interface ObservationBatch {
  batch_id: string;
  calibration_id?: string | undefined;
  index?: string | undefined;
  embedding?: string | undefined;
  reranker?: string | undefined;
  index_version?: string | undefined;
  /**
   * One entry per query: `[candidates, dropped]`, or with a guarded or abstaining gate
   * `[candidates, dropped, below, abstained]`: `below` the scored candidates under the threshold (what the threshold
   * alone would drop), `abstained` 1 when the query abstained, else 0; or
   * `[candidates, dropped, below, abstained, unscored]`: `unscored` the candidates passed without a score, the other
   * counts then of the scored candidates only.
   */
  queries: QueryCounts[];
  scores?: number[] | undefined;
  /** `shadow`: mirrored queries gated by the shadow calibration `calibration_id`; omitted: served traffic. */
  role?: "served" | "shadow" | undefined;
  /** The promotion step and arm the queries were served under (from the threshold's `rollout`). */
  promotion?: { id: string; step: number; arm: PromotionArm } | undefined;
}

/** What happened to a gate (src/contract/events.ts GATE_EVENT_KINDS). */
export type GateEventKind =
  | "activation"
  | "shadow_added"
  | "shadow_removed"
  | "shadow_changed"
  | "promotion_started"
  | "promotion_step"
  | "promotion_paused"
  | "promotion_resumed"
  | "promotion_rolled_back"
  | "promotion_completed"
  | "promotion_superseded";

/** The gate's open promotion as an event states it. */
export interface GateEventPromotion {
  id: string;
  state: string;
  /** 0-based index of the plan's current step. */
  step: number;
  /** Share of keyed traffic served the candidate, in percent. */
  percent: number;
}

/**
 * One pushed change of a gate (SSE `event: gate` or `snapshot`, `id:` = `seq`), with the full state served after it.
 * Drop `seq <= last`; apply when `prev_seq === last` or it is a snapshot; otherwise reconnect with `Last-Event-ID`.
 */
export interface GateEvent {
  v: 1;
  seq: number;
  /** The seq of the gate's event before this one (0: none): gaps show as `prev_seq !== last`, never `seq - 1`. */
  prev_seq: number;
  gate_id: string;
  kind: GateEventKind;
  at: string;
  actor: string;
  reason: string | null;
  calibration_id: string;
  /** What `GET /v1/threshold` answers after this event; null while the gate serves nothing. */
  served: ThresholdResponse | null;
  promotion: GateEventPromotion | null;
  details: Record<string, unknown> | null;
}

/** SSE `event: heartbeat` (no `id:`), every 15 s of an idle stream: `head_seq` above the last seen seq means a gap. */
export interface GateHeartbeat {
  v: 1;
  head_seq: number;
  at: string;
}

/** The `event:` names of the stream: `gate` and `snapshot` carry a GateEvent, `heartbeat` a GateHeartbeat. */
export type SseEventName = "gate" | "snapshot" | "heartbeat";
