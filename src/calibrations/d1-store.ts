import type { Activation, StoredCalibration } from "../contract";
import type { Distribution } from "../stats/distribution";
import { decodeDistribution, encodeDistribution } from "./distribution-codec";
import type { ActiveRow, ActiveSummary, CalibrationStore, GateRow, HistoryPage } from "./store";

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

const parseRecord = (record: string): StoredCalibration => JSON.parse(record) as StoredCalibration;

/** D1 implementation of CalibrationStore. Built per request from `env.DB`. */
export class D1CalibrationStore implements CalibrationStore {
  constructor(private readonly db: D1Database) {}

  private activationStatements(a: Activation): D1PreparedStatement[] {
    return [
      this.db
        .prepare(
          `INSERT INTO activations (id, gate_id, index_version, calibration_id, previous_calibration_id, activated_at, actor, reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .bind(a.id, a.gate_id, a.index_version, a.calibration_id, a.previous_calibration_id, a.activated_at, a.actor, a.reason),
      this.db
        .prepare(
          `INSERT INTO active_calibrations (gate_id, index_version, calibration_id, activation_id, activation_seq, activated_at)
           VALUES (?1, ?2, ?3, ?4, (SELECT seq FROM activations WHERE id = ?4), ?5)
           ON CONFLICT (gate_id, index_version) DO UPDATE SET
             calibration_id = excluded.calibration_id, activation_id = excluded.activation_id,
             activation_seq = excluded.activation_seq, activated_at = excluded.activated_at`,
        )
        .bind(a.gate_id, a.index_version, a.calibration_id, a.id, a.activated_at),
    ];
  }

  async create(input: { gate: GateRow; calibration: StoredCalibration; distribution: Distribution; activation: Activation | null }): Promise<void> {
    const { gate, calibration: c, activation } = input;
    const statements = [
      this.db
        .prepare(`INSERT OR IGNORE INTO gates (gate_id, idx, embedding, reranker, created_at) VALUES (?, ?, ?, ?, ?)`)
        .bind(gate.gate_id, gate.index, gate.embedding, gate.reranker, gate.created_at),
      this.db
        .prepare(
          `INSERT INTO calibrations (id, gate_id, index_version, threshold, expected_drop_rate, n, record, distribution, created_at, created_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
        ),
      ...(activation ? this.activationStatements(activation) : []),
    ];
    await this.db.batch(statements);
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

  async activate(activation: Activation): Promise<void> {
    await this.db.batch(this.activationStatements(activation));
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
