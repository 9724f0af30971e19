/** D1 implementation of PromotionStore (store.ts says what it promises). */
import { COMPLETING_PROMOTION } from "../calibrations/d1-rows";
import type { PromotionStepRecord } from "../contract";
import { isUniqueViolation } from "../platform/sql";
import type { CreateOutcome, PromotionRow, PromotionStore, UnloggedRecord } from "./store";

interface Row {
  id: string;
  gate_id: string;
  candidate_calibration_id: string;
  control_calibration_id: string;
  plan: string;
  state: PromotionRow["state"];
  step: number;
  version: number;
  started_at: string;
  updated_at: string;
  actor: string;
}

interface StepRow {
  id: string;
  kind: PromotionStepRecord["kind"];
  cause: PromotionStepRecord["cause"];
  step: number;
  percent: number;
  seq: number | null;
  at: string;
  actor: string;
  reason: string | null;
  numbers: string;
}

const fromRow = (r: Row): PromotionRow => ({ ...r, plan: JSON.parse(r.plan) });
const fromStep = (r: StepRow): PromotionStepRecord => ({ ...r, numbers: JSON.parse(r.numbers) });

const INSERT_STEP = `INSERT OR IGNORE INTO promotion_steps (id, promotion_id, ord, kind, cause, step, percent, seq, at, actor, reason, numbers)`;

/**
 * The gate `?g`'s current calibration: its active row with the greatest activation_seq (calibrations/store.ts
 * currentOf). The active rows are the calibrations feature's table (migrations/0001, 0008), read here only to make a
 * promotion's writes conditional on the control still being served, in the same batch as the write.
 */
const CURRENT_CALIBRATION = (gate: string) =>
  `(SELECT calibration_id FROM active_calibrations a WHERE a.gate_id = ${gate} ORDER BY a.activation_seq DESC LIMIT 1)`;

export class D1PromotionStore implements PromotionStore {
  constructor(private readonly db: D1Database) {}

  async create(row: PromotionRow, first: PromotionStepRecord): Promise<CreateOutcome> {
    try {
      const [insert] = await this.db.batch([
        this.db
          .prepare(
            `INSERT INTO promotions (id, gate_id, candidate_calibration_id, control_calibration_id, plan, state, step, version, started_at, updated_at, actor)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE ${CURRENT_CALIBRATION("?2")} = ?4 AND ${COMPLETING_PROMOTION("?2")} IS NULL`,
          )
          .bind(
            row.id,
            row.gate_id,
            row.candidate_calibration_id,
            row.control_calibration_id,
            JSON.stringify(row.plan),
            row.state,
            row.step,
            row.version,
            row.started_at,
            row.updated_at,
            row.actor,
          ),
        // Only with the promotion row: nothing is stored when the control is no longer served, or is about to be replaced
        // by another promotion's completion under way (calibrations/d1-rows.ts COMPLETING_PROMOTION).
        this.stepInsert(row.id, row.version, first, row),
      ]);
      return (insert?.meta.changes ?? 0) === 1 ? "created" : "control_replaced";
    } catch (e) {
      if (isUniqueViolation(e)) return "open_exists";
      throw e;
    }
  }

  /**
   * The audit row of a transition, inserted only if this batch's update won: the promotion now has exactly the row this
   * transition wrote (its version, state, step and time). A version check alone is not enough: when two transitions
   * race from one version, the loser's update changes nothing, but the winner's has already moved the version to the
   * one the loser expected to write, and the loser's audit row would be inserted beside the winner's (a rollback or a
   * completion that never happened, which the cron's repair would then turn into an event).
   */
  private stepInsert(promotionId: string, ord: number, r: PromotionStepRecord, after: Pick<PromotionRow, "state" | "step" | "updated_at">) {
    const values = [r.id, promotionId, ord, r.kind, r.cause, r.step, r.percent, r.seq, r.at, r.actor, r.reason, JSON.stringify(r.numbers)];
    return this.db
      .prepare(
        `${INSERT_STEP} SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
         WHERE EXISTS (SELECT 1 FROM promotions WHERE id = ? AND version = ? AND state = ? AND step = ? AND updated_at = ?)`,
      )
      .bind(...values, promotionId, ord, after.state, after.step, after.updated_at);
  }

  async get(id: string): Promise<PromotionRow | null> {
    const r = await this.db.prepare("SELECT * FROM promotions WHERE id = ?").bind(id).first<Row>();
    return r ? fromRow(r) : null;
  }

  async startedBy(gateId: string, candidateId: string, request: string): Promise<PromotionRow | null> {
    // promotions_by_gate narrows the scan to the gate's promotions; a start's audit row is its promotion's first (ord 1).
    const r = await this.db
      .prepare(
        `SELECT p.* FROM promotions p JOIN promotion_steps s ON s.promotion_id = p.id AND s.ord = 1 AND s.kind = 'started'
         WHERE p.gate_id = ? AND p.candidate_calibration_id = ? AND json_extract(s.numbers, '$.request') = ?`,
      )
      .bind(gateId, candidateId, request)
      .first<Row>();
    return r ? fromRow(r) : null;
  }

  async open(gateId: string): Promise<PromotionRow | null> {
    const r = await this.db.prepare("SELECT * FROM promotions WHERE gate_id = ? AND state IN ('running', 'paused')").bind(gateId).first<Row>();
    return r ? fromRow(r) : null;
  }

  async running(limit: number): Promise<PromotionRow[]> {
    const { results } = await this.db
      .prepare("SELECT * FROM promotions WHERE state = 'running' ORDER BY updated_at, id LIMIT ?")
      .bind(limit)
      .all<Row>();
    return results.map(fromRow);
  }

  async list(gateId: string, limit: number, before: number | null): Promise<{ rows: PromotionRow[]; next: number | null }> {
    // rowid is the order promotions were started in (as the gates' and alerts' listings page): a keyset, not an offset,
    // so a promotion started between two pages cannot repeat a row of the first on the second.
    const { results } = await this.db
      .prepare("SELECT rowid AS ord, * FROM promotions WHERE gate_id = ?1 AND (?2 IS NULL OR rowid < ?2) ORDER BY rowid DESC LIMIT ?3")
      .bind(gateId, before, limit + 1)
      .all<Row & { ord: number }>();
    const page = results.slice(0, limit);
    return { rows: page.map(({ ord: _ord, ...r }) => fromRow(r)), next: results.length > limit ? page.at(-1)!.ord : null };
  }

  async steps(id: string): Promise<PromotionStepRecord[]> {
    const { results } = await this.db
      .prepare("SELECT id, kind, cause, step, percent, seq, at, actor, reason, numbers FROM promotion_steps WHERE promotion_id = ? ORDER BY ord")
      .bind(id)
      .all<StepRow>();
    return results.map(fromStep);
  }

  async transition(
    id: string,
    expectedVersion: number,
    next: Pick<PromotionRow, "state" | "step" | "updated_at">,
    record: PromotionStepRecord,
    whileServing?: string,
  ): Promise<boolean> {
    const serving = whileServing === undefined ? "" : ` AND ${CURRENT_CALIBRATION("promotions.gate_id")} = ?6`;
    const [update] = await this.db.batch([
      this.db
        .prepare(`UPDATE promotions SET state = ?1, step = ?2, updated_at = ?3, version = version + 1 WHERE id = ?4 AND version = ?5${serving}`)
        .bind(next.state, next.step, next.updated_at, id, expectedVersion, ...(whileServing === undefined ? [] : [whileServing])),
      this.stepInsert(id, expectedVersion + 1, record, next),
    ]);
    return (update?.meta.changes ?? 0) === 1;
  }

  async setSeq(recordId: string, seq: number): Promise<void> {
    await this.db.prepare("UPDATE promotion_steps SET seq = ? WHERE id = ?").bind(seq, recordId).run();
  }

  async loggedSeq(logId: string): Promise<number | null> {
    // The activation log is the calibrations feature's table (migrations/0001, 0008); read here by its primary key only.
    const r = await this.db.prepare("SELECT seq FROM activations WHERE id = ?").bind(logId).first<{ seq: number }>();
    return r?.seq ?? null;
  }

  async unlogged(limit: number): Promise<UnloggedRecord[]> {
    // promotion_steps_unlogged (migrations/0011) holds only these rows: the sweep costs nothing while all is linked.
    const [steps, rows] = await this.db.batch<unknown>([
      this.db
        .prepare(
          `SELECT id, promotion_id, ord, kind, cause, step, percent, seq, at, actor, reason, numbers FROM promotion_steps
           WHERE seq IS NULL ORDER BY at, ord LIMIT ?`,
        )
        .bind(limit),
      this.db
        .prepare(`SELECT * FROM promotions WHERE id IN (SELECT promotion_id FROM promotion_steps WHERE seq IS NULL ORDER BY at, ord LIMIT ?)`)
        .bind(limit),
    ]);
    const byId = new Map((rows!.results as Row[]).map((r) => [r.id, fromRow(r)]));
    return (steps!.results as (StepRow & { promotion_id: string; ord: number })[]).flatMap(({ promotion_id, ord, ...step }) => {
      const promotion = byId.get(promotion_id);
      return promotion ? [{ record: fromStep(step), promotion, latest: ord === promotion.version }] : [];
    });
  }
}
