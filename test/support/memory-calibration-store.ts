import { withSeq } from "../../src/calibrations/gate-event";
import {
  type ActiveRow,
  type ActiveSummary,
  type CalibrationStore,
  currentOf,
  type GatePage,
  type GateRow,
  type GateSplit,
  type GateState,
  type HistoryPage,
  type LogEntry,
  type PendingListeners,
  type ServedSummary,
  type UploadRequest,
} from "../../src/calibrations/store";
import {
  type Activation,
  type ActivationOutcome,
  CALIBRATION_CHANGE_KINDS,
  type GateEvent,
  type ServedRollout,
  type ServedShadow,
  type StoredCalibration,
} from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import type { Distribution } from "../../src/stats/distribution";

/** In-memory CalibrationStore for unit tests of services: same contract as D1, no persistence. */
export class MemoryCalibrationStore implements CalibrationStore {
  private readonly gateRows = new Map<string, GateRow>();
  private readonly calibrations: { seq: number; record: StoredCalibration; distribution: Distribution; request: UploadRequest | null }[] = [];
  private readonly activationLog: { seq: number; activation: Activation; event: GateEvent }[] = [];
  private readonly active = new Map<string, ActiveRow>();
  /** Pending-listeners markers by activation id (migrations/0010), written with their row. */
  readonly pending = new Map<string, PendingListeners>();
  private seq = 0;

  async create(input: {
    gate: GateRow;
    calibration: StoredCalibration;
    distribution: Distribution;
    activation: LogEntry | null;
    expectedCurrentSeq?: number;
    request?: UploadRequest | null;
  }): Promise<{ readonly seq: number | null } | null> {
    if (this.calibrations.some((c) => c.record.id === input.calibration.id)) throw new Error("duplicate calibration id");
    const request = input.request ?? null;
    if (request && (await this.byRequest(input.calibration.created_by, request.key, request.hash)))
      throw new AppError("idempotency_in_progress", "this upload was stored meanwhile");
    if (input.activation && this.latestSeq(input.gate.gate_id) !== (input.expectedCurrentSeq ?? 0)) return null;
    if (!this.gateRows.has(input.gate.gate_id)) this.gateRows.set(input.gate.gate_id, input.gate);
    this.calibrations.push({ seq: ++this.seq, record: structuredClone(input.calibration), distribution: input.distribution, request });
    if (input.activation) return { seq: await this.append(input.activation, input.expectedCurrentSeq ?? 0) };
    return { seq: null };
  }

  async byRequest(actor: string, key: string, hash: string): Promise<{ calibration: StoredCalibration; outcome: ActivationOutcome } | null> {
    const c = this.calibrations.find((x) => x.record.created_by === actor && x.request?.key === key && x.request.hash === hash);
    return c ? { calibration: structuredClone(c.record), outcome: structuredClone(c.request!.outcome) } : null;
  }

  private latestSeq(gateId: string): number {
    let best = 0;
    for (const x of this.activationLog) if (x.activation.gate_id === gateId && x.seq > best) best = x.seq;
    return best;
  }

  async get(id: string): Promise<StoredCalibration | null> {
    const c = this.calibrations.find((x) => x.record.id === id);
    return c ? structuredClone(c.record) : null;
  }

  async distribution(id: string): Promise<Distribution | null> {
    return this.calibrations.find((x) => x.record.id === id)?.distribution ?? null;
  }

  async history(gateId: string, limit: number, before: number | null): Promise<HistoryPage> {
    const rows = this.calibrations
      .filter((c) => c.record.gate_id === gateId && c.seq < (before ?? Number.MAX_SAFE_INTEGER))
      .sort((a, b) => b.seq - a.seq);
    const page = rows.slice(0, limit);
    return { items: page.map((r) => structuredClone(r.record)), next: rows.length > limit ? page[page.length - 1]!.seq : null };
  }

  async append(entry: LogEntry, expectedHeadSeq: number): Promise<number | null> {
    const a = entry.activation;
    if (this.latestSeq(a.gate_id) !== expectedHeadSeq) return null;
    const seq = ++this.seq;
    this.activationLog.push({ seq, activation: { ...a }, event: withSeq(structuredClone(entry.event), seq) });
    this.pending.set(a.id, { activation_id: a.id, gate_id: a.gate_id, committed_at: a.activated_at, shift: structuredClone(entry.shift ?? null) });
    if (!(CALIBRATION_CHANGE_KINDS as readonly string[]).includes(entry.event.kind)) return seq;
    this.active.set(`${a.gate_id}\u0000${a.index_version}`, {
      gate_id: a.gate_id,
      index_version: a.index_version,
      calibration_id: a.calibration_id,
      activation_id: a.id,
      activation_seq: seq,
      activated_at: a.activated_at,
    });
    return seq;
  }

  async gateState(gateId: string): Promise<GateState> {
    // The split and the shadow set as the newest event that states them left them (the D1 store's gate_heads).
    let rollout: ServedRollout | null = null;
    let shadows: ServedShadow[] = [];
    for (const x of this.activationLog.filter((y) => y.activation.gate_id === gateId).sort((a, b) => a.seq - b.seq)) {
      if (x.event.served?.rollout !== undefined) rollout = x.event.served.rollout;
      if (x.event.served?.shadows !== undefined) shadows = x.event.served.shadows;
    }
    // No promotions are stored here: an open one shows only through the split its events left.
    return {
      rows: await this.activeRows(gateId),
      headSeq: this.latestSeq(gateId),
      heads: { rollout, shadows: structuredClone(shadows) },
      promotionOpen: false,
      openPromotionId: null,
    };
  }

  /** No promotions here: none is ever completing. */
  async completingPromotion(_gateId: string): Promise<string | null> {
    return null;
  }

  async splits(gateIds: readonly string[]): Promise<Map<string, GateSplit>> {
    const out = new Map<string, GateSplit>();
    for (const id of new Set(gateIds)) {
      if (this.latestSeq(id) === 0) continue; // no log, no head: absent, as in D1
      const { heads, promotionOpen } = await this.gateState(id);
      out.set(id, { heads, promotionOpen });
    }
    return out;
  }

  async events(gateId: string, afterSeq: number, limit: number): Promise<GateEvent[]> {
    return this.activationLog
      .filter((x) => x.activation.gate_id === gateId && x.seq > afterSeq)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map((x) => structuredClone(x.event));
  }

  async eventsBefore(gateId: string, beforeSeq: number | null, limit: number): Promise<GateEvent[]> {
    return this.activationLog
      .filter((x) => x.activation.gate_id === gateId && (beforeSeq === null || x.seq < beforeSeq))
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit)
      .map((x) => structuredClone(x.event));
  }

  async latestEvent(gateId: string): Promise<GateEvent | null> {
    const [last] = await this.events(gateId, 0, Number.MAX_SAFE_INTEGER).then((all) => all.slice(-1));
    return last ?? null;
  }

  async gate(gateId: string): Promise<GateRow | null> {
    return this.gateRows.get(gateId) ?? null;
  }

  async gates(): Promise<GateRow[]> {
    return [...this.gateRows.values()];
  }

  async gatePage(limit: number, after: number | null): Promise<GatePage> {
    // The map keeps insertion order: a gate's position + 1 stands for the D1 rowid.
    const all = [...this.gateRows.values()].map((g, i) => ({ g, seq: i + 1 })).filter((x) => x.seq > (after ?? 0));
    const page = all.slice(0, limit);
    const ids = new Set(page.map((x) => x.g.gate_id));
    return {
      gates: page.map((x) => x.g),
      active: (await this.activeSummaries()).filter((r) => ids.has(r.gate_id)),
      next: all.length > limit ? page[page.length - 1]!.seq : null,
    };
  }

  async activeRows(gateId: string): Promise<ActiveRow[]> {
    return [...this.active.values()].filter((r) => r.gate_id === gateId).sort((a, b) => b.activation_seq - a.activation_seq);
  }

  async allActiveRows(): Promise<ActiveRow[]> {
    return [...this.active.values()];
  }

  async activeSummaries(): Promise<ActiveSummary[]> {
    return [...this.active.values()].map((r) => {
      const c = this.calibrations.find((x) => x.record.id === r.calibration_id)!.record;
      return { ...r, threshold: c.threshold, expected_drop_rate: c.expected_drop_rate };
    });
  }

  async servedSummaries(): Promise<ServedSummary[]> {
    return [...this.active.values()].map((r) => {
      const c = this.calibrations.find((x) => x.record.id === r.calibration_id)!.record;
      return {
        ...r,
        threshold: c.threshold,
        expected_drop_rate: c.expected_drop_rate,
        min_keep: c.guards?.min_keep ?? 0,
        max_keep: c.guards?.max_keep ?? null,
        abstain_below: c.abstain_below ?? null,
      };
    });
  }

  async logEntry(activationId: string): Promise<{ activation: Activation; event: GateEvent } | null> {
    const x = this.activationLog.find((y) => y.activation.id === activationId);
    return x ? { activation: { ...x.activation }, event: structuredClone(x.event) } : null;
  }

  async pendingListeners(committedBefore: string, limit: number): Promise<PendingListeners[]> {
    return [...this.pending.values()]
      .filter((p) => p.committed_at <= committedBefore)
      .sort((a, b) => (a.committed_at === b.committed_at ? (a.activation_id < b.activation_id ? -1 : 1) : a.committed_at < b.committed_at ? -1 : 1))
      .slice(0, limit)
      .map((p) => structuredClone(p));
  }

  async pendingListenersOf(activationId: string): Promise<PendingListeners | null> {
    const p = this.pending.get(activationId);
    return p ? structuredClone(p) : null;
  }

  async listenersRan(activationId: string): Promise<void> {
    this.pending.delete(activationId);
  }

  async activations(gateId: string, limit: number): Promise<Activation[]> {
    return this.activationLog
      .filter((x) => x.activation.gate_id === gateId && (CALIBRATION_CHANGE_KINDS as readonly string[]).includes(x.event.kind))
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit)
      .map((x) => ({ ...x.activation }));
  }

  async calibratedNeighbours(gate: { index: string; embedding: string; reranker: string }, limit: number): Promise<GateRow[]> {
    const calibrated = [...this.gateRows.values()].filter((g) => [...this.active.values()].some((r) => r.gate_id === g.gate_id));
    const same = (g: GateRow) => g.embedding === gate.embedding && g.reranker === gate.reranker;
    return calibrated
      .filter((g) => !(same(g) && g.index === gate.index))
      .filter((g) => same(g) || (g.index === gate.index && (g.embedding === gate.embedding || g.reranker === gate.reranker)))
      .sort((a, b) => Number(same(b)) - Number(same(a)))
      .slice(0, limit);
  }

  /** Test helper: the current row of a gate. */
  async current(gateId: string): Promise<ActiveRow | null> {
    return currentOf(await this.activeRows(gateId));
  }
}
