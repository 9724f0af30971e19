/**
 * The gate listings of the D1 CalibrationStore (./d1-store.ts): gates, their active rows and summaries, pages of
 * gates, the served splits of many gates and the calibrated gates with similar names. Reads only.
 */
import type { ServedRollout, ServedShadow } from "../contract";
import { D1_MAX_BOUND_PARAMETERS } from "../platform/limits";
import { type GateDbRow, GUARD_COLUMNS, SUMMARY_COLUMNS, toGate } from "./d1-rows";
import type { ActiveRow, ActiveSummary, CalibrationStore, GatePage, GateRow, GateSplit, ServedSummary } from "./store";

type GateReads = Pick<
  CalibrationStore,
  "splits" | "gate" | "gates" | "activeRows" | "allActiveRows" | "activeSummaries" | "servedSummaries" | "gatePage" | "calibratedNeighbours"
>;

export class D1GateReads implements GateReads {
  constructor(protected readonly db: D1Database) {}

  async splits(gateIds: readonly string[]): Promise<Map<string, GateSplit>> {
    const ids = [...new Set(gateIds)];
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += D1_MAX_BOUND_PARAMETERS) chunks.push(ids.slice(i, i + D1_MAX_BOUND_PARAMETERS));
    type Row = { gate_id: string; rollout: string | null; shadows: string | null; open: number };
    const out = new Map<string, GateSplit>();
    // From gates, so a gate whose open promotion has not reached its head yet (or with no head row) is still read.
    for (const chunk of chunks) {
      const { results } = await this.db
        .prepare(
          `SELECT g.gate_id, h.rollout, h.shadows,
                  EXISTS (SELECT 1 FROM promotions p WHERE p.gate_id = g.gate_id AND p.state IN ('running', 'paused')) AS open
             FROM gates g LEFT JOIN gate_heads h ON h.gate_id = g.gate_id
            WHERE g.gate_id IN (${chunk.map(() => "?").join(", ")})`,
        )
        .bind(...chunk)
        .all<Row>();
      for (const r of results) {
        if (r.rollout === null && r.shadows === null && r.open === 0) continue;
        out.set(r.gate_id, {
          promotionOpen: r.open === 1,
          heads: {
            rollout: r.rollout ? (JSON.parse(r.rollout) as ServedRollout) : null,
            shadows: r.shadows === null ? [] : (JSON.parse(r.shadows) as ServedShadow[]),
          },
        });
      }
    }
    return out;
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
        `SELECT a.*, ${SUMMARY_COLUMNS} FROM active_calibrations a JOIN calibrations c ON c.id = a.calibration_id
         ORDER BY a.gate_id, a.activation_seq DESC`,
      )
      .all<ActiveSummary>();
    return results;
  }

  async servedSummaries(): Promise<ServedSummary[]> {
    const { results } = await this.db
      .prepare(
        `SELECT a.*, ${SUMMARY_COLUMNS}, ${GUARD_COLUMNS} FROM active_calibrations a JOIN calibrations c ON c.id = a.calibration_id
         ORDER BY a.gate_id, a.activation_seq DESC`,
      )
      .all<ServedSummary>();
    return results;
  }

  async gatePage(limit: number, after: number | null): Promise<GatePage> {
    // rowid is the gates table's insertion order: a gate created later always sorts after every cursor handed out.
    const [gates, active] = await this.db.batch<unknown>([
      this.db.prepare(`SELECT rowid AS seq, * FROM gates WHERE rowid > ? ORDER BY rowid LIMIT ?`).bind(after ?? 0, limit + 1),
      this.db
        .prepare(
          `SELECT a.*, ${SUMMARY_COLUMNS} FROM active_calibrations a JOIN calibrations c ON c.id = a.calibration_id
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
}
