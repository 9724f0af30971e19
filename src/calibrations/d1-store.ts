import type { Activation, ActivationOutcome, StoredCalibration } from "../contract";
import { AppError } from "../platform/errors";
import type { Distribution } from "../stats/distribution";
import { decodeDistribution, encodeDistribution } from "./distribution-codec";
import type { ActiveRow, ActiveSummary, CalibrationStore, GatePage, GateRow, HistoryPage, UploadRequest } from "./store";

interface GateDbRow {
  gate_id: string;
  idx: string;
  embedding: string;
  reranker: string;
  created_at: string;
}

const toGate = (r: GateDbRow): GateRow => ({
  gate_id: r.gate_id,
  index: r.idx,
  embedding: r.embedding,
  reranker: r.reranker,
  created_at: r.created_at,
});

/** The gate's latest activation seq (0 when never activated); `?2` is the gate id. */
const LATEST_SEQ = `COALESCE((SELECT MAX(seq) FROM activations WHERE gate_id = ?2), 0)`;

const parseRecord = (record: string): StoredCalibration => JSON.parse(record) as StoredCalibration;

/** D1 implementation of CalibrationStore. Built per request from `env.DB`. */
export class D1CalibrationStore implements CalibrationStore {
  constructor(private readonly db: D1Database) {}

  /**
   * The activation and its active row, each written only while the gate's latest activation is still `expectedSeq`
   * (the one the caller computed the shift and previous_calibration_id against). A D1 batch is one transaction, so
   * of two concurrent activations computed against the same state exactly one is written; the other changes nothing
   * and is retried by the service against the new state.
   */
  private activationStatements(a: Activation, expectedSeq: number): D1PreparedStatement[] {
    return [
      this.db
        .prepare(
          `INSERT INTO activations (id, gate_id, index_version, calibration_id, previous_calibration_id, activated_at, actor, reason)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE ${LATEST_SEQ} = ?9`,
        )
        .bind(a.id, a.gate_id, a.index_version, a.calibration_id, a.previous_calibration_id, a.activated_at, a.actor, a.reason, expectedSeq),
      this.db
        .prepare(
          `INSERT INTO active_calibrations (gate_id, index_version, calibration_id, activation_id, activation_seq, activated_at)
           SELECT ?1, ?2, ?3, ?4, seq, ?5 FROM activations WHERE id = ?4
           ON CONFLICT (gate_id, index_version) DO UPDATE SET
             calibration_id = excluded.calibration_id, activation_id = excluded.activation_id,
             activation_seq = excluded.activation_seq, activated_at = excluded.activated_at`,
        )
        .bind(a.gate_id, a.index_version, a.calibration_id, a.id, a.activated_at),
    ];
  }

  async create(input: {
    gate: GateRow;
    calibration: StoredCalibration;
    distribution: Distribution;
    activation: Activation | null;
    expectedCurrentSeq?: number;
    request?: UploadRequest | null;
  }): Promise<boolean> {
    const { gate, calibration: c, activation } = input;
    const request = input.request ?? null;
    const expected = input.expectedCurrentSeq ?? 0;
    // With an activation, the calibration row is conditional too: a lost race stores nothing at all.
    const guard = activation ? `WHERE ${LATEST_SEQ} = ?14` : "";
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
          encodeDistribution(input.distribution),
          c.created_at,
          c.created_by,
          request?.key ?? null,
          request?.hash ?? null,
          request === null ? null : JSON.stringify(request.outcome),
          ...(activation ? [expected] : []),
        ),
      ...(activation ? this.activationStatements(activation, expected) : []),
    ];
    let results: D1Result[];
    try {
      results = await this.db.batch(statements);
    } catch (e) {
      // calibrations_by_request (migrations/0007): the same request committed meanwhile; its retry replays it.
      if (request !== null && /UNIQUE constraint failed: calibrations\.created_by/u.test(String(e))) {
        throw new AppError("conflict", "this upload (the same Idempotency-Key and request) was stored meanwhile: retry to get its answer");
      }
      throw e;
    }
    return results[1]!.meta.changes === 1;
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
      .first<{ distribution: ArrayBuffer | number[] }>();
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

  async activate(activation: Activation, expectedCurrentSeq: number): Promise<boolean> {
    const results = await this.db.batch(this.activationStatements(activation, expectedCurrentSeq));
    return results[0]!.meta.changes === 1;
  }

  async gate(gateId: string): Promise<GateRow | null> {
    const row = await this.db.prepare(`SELECT * FROM gates WHERE gate_id = ?`).bind(gateId).first<GateDbRow>();
    return row ? toGate(row) : null;
  }

  async gates(): Promise<GateRow[]> {
    const { results } = await this.db.prepare(`SELECT * FROM gates ORDER BY created_at, gate_id`).all<GateDbRow>();
    return results.map(toGate);
  }

  async activeRows(gateId: string): Promise<ActiveRow[]> {
    const { results } = await this.db
      .prepare(`SELECT * FROM active_calibrations WHERE gate_id = ? ORDER BY activation_seq DESC`)
      .bind(gateId)
      .all<ActiveRow>();
    return results;
  }

  async allActiveRows(): Promise<ActiveRow[]> {
    const { results } = await this.db.prepare(`SELECT * FROM active_calibrations ORDER BY gate_id, activation_seq DESC`).all<ActiveRow>();
    return results;
  }

  async activeSummaries(): Promise<ActiveSummary[]> {
    const { results } = await this.db
      .prepare(
        `SELECT a.*, c.threshold, c.expected_drop_rate FROM active_calibrations a JOIN calibrations c ON c.id = a.calibration_id
         ORDER BY a.gate_id, a.activation_seq DESC`,
      )
      .all<ActiveSummary>();
    return results;
  }

  async gatePage(limit: number, after: number | null): Promise<GatePage> {
    // rowid is the gates table's insertion order: a gate created later always sorts after every cursor handed out.
    const [gates, active] = await this.db.batch<unknown>([
      this.db.prepare(`SELECT rowid AS seq, * FROM gates WHERE rowid > ? ORDER BY rowid LIMIT ?`).bind(after ?? 0, limit + 1),
      this.db
        .prepare(
          `SELECT a.*, c.threshold, c.expected_drop_rate FROM active_calibrations a JOIN calibrations c ON c.id = a.calibration_id
           WHERE a.gate_id IN (SELECT gate_id FROM gates WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)
           ORDER BY a.gate_id, a.activation_seq DESC`,
        )
        .bind(after ?? 0, limit),
    ]);
    const found = gates!.results as (GateDbRow & { seq: number })[];
    const rows = found.slice(0, limit);
    return {
      gates: rows.map(toGate),
      active: active!.results as ActiveSummary[],
      next: found.length > limit ? rows[rows.length - 1]!.seq : null,
    };
  }

  async calibratedNeighbours(gate: { index: string; embedding: string; reranker: string }, limit: number): Promise<GateRow[]> {
    const { results } = await this.db
      .prepare(
        `SELECT g.* FROM gates g
         WHERE EXISTS (SELECT 1 FROM active_calibrations a WHERE a.gate_id = g.gate_id)
           AND ((g.embedding = ?2 AND g.reranker = ?3) OR (g.idx = ?1 AND (g.embedding = ?2 OR g.reranker = ?3)))
           AND NOT (g.idx = ?1 AND g.embedding = ?2 AND g.reranker = ?3)
         ORDER BY (g.embedding = ?2 AND g.reranker = ?3) DESC, g.created_at DESC LIMIT ?4`,
      )
      .bind(gate.index, gate.embedding, gate.reranker, limit)
      .all<GateDbRow>();
    return results.map(toGate);
  }

  async activations(gateId: string, limit: number): Promise<Activation[]> {
    const { results } = await this.db
      .prepare(
        `SELECT id, gate_id, index_version, calibration_id, previous_calibration_id, activated_at, actor, reason
         FROM activations WHERE gate_id = ? ORDER BY seq DESC LIMIT ?`,
      )
      .bind(gateId, limit)
      .all<Activation>();
    return results;
  }
}
