/**
 * GateMonitor: one SQLite-backed Durable Object per gate aggregates production observations. Memory is bounded
 * (running sums, a fixed-size score reservoir, batch ids on disk with a retention). Thin adapter: the window logic is
 * services/monitor-window.ts, alerts go to D1 through services/alerts.ts.
 *
 * Concurrency: a Durable Object is single-threaded, but other requests run whenever it awaits. So everything from the
 * idempotency check to the window update happens synchronously in one transaction, with no await in between; an
 * alarm is written to `pending_alerts` in that same transaction, and raised in D1 afterwards. A raise that fails is
 * retried by the object's alarm (which the platform retries too): no count is lost, no batch counted twice, no alert
 * lost.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../platform/env";
import { alertDeps } from "./wiring";
import { BATCH_ID_RETENTION_MS, DETECTOR_IDLE_RETENTION_MS, MAX_WINDOW_HISTORY } from "../platform/limits";
import type { DetectorState } from "../stats/e-detector";
import type { AlertKind, QueuedIngestStatus, WindowStatus } from "../contract";
import type { AlertInput } from "../alerts/lifecycle";
import { raiseAlert } from "../alerts/lifecycle";
import {
  addBatch,
  driftSummary,
  emptyContextSummary,
  evaluateWindow,
  newWindow,
  windowExpired,
  windowStatus,
  type WindowState,
} from "../monitoring/window";
import type { DriftConfig } from "../stats/drift";
import type {
  GateMonitorRpc,
  JudgeInput,
  JudgeOutcome,
  MonitorSnapshot,
  ObserveInput,
  ObserveManyInput,
  ObserveManyOutcome,
  ObserveOutcome,
  QueuedBatchResult,
} from "../monitoring/monitor-contract";
import {
  addJudgments,
  coverageStatus,
  evaluateCoverageState,
  newCoverageState,
  recallDriftSummary,
  type CoverageState,
} from "../monitoring/coverage-window";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, hash TEXT);
CREATE INDEX IF NOT EXISTS batches_by_time ON batches (received_at);
CREATE TABLE IF NOT EXISTS windows (calibration_id TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (id INTEGER PRIMARY KEY AUTOINCREMENT, calibration_id TEXT NOT NULL, ended_at INTEGER NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL, alert TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS detectors (calibration_id TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS judgment_batches (batch_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS coverage (calibration_id TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queued_ingest (id INTEGER PRIMARY KEY CHECK (id = 1), calls INTEGER NOT NULL DEFAULT 0,
  batches INTEGER NOT NULL DEFAULT 0, counted INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0,
  mismatches INTEGER NOT NULL DEFAULT 0, last_mismatch_batch_id TEXT, last_mismatch_at INTEGER);
`;

/** Delay before the object's alarm retries alerts whose raise failed. */
const ALERT_RETRY_MS = 30_000;

export class GateMonitor extends DurableObject<Env> implements GateMonitorRpc {
  // #private, not TypeScript `private`: only true private members are unreachable over RPC.
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(SCHEMA);
    // Objects created before batches had a content hash: add the column (rows without one compare as duplicates).
    const batches = this.#sql.exec<{ sql: string }>(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'batches'`).toArray()[0];
    if (batches !== undefined && !batches.sql.includes("hash")) this.#sql.exec(`ALTER TABLE batches ADD COLUMN hash TEXT`);
  }

  #load(calibrationId: string): WindowState | null {
    const row = this.#sql.exec<{ state: string }>(`SELECT state FROM windows WHERE calibration_id = ?`, calibrationId).toArray()[0];
    return row ? (JSON.parse(row.state) as WindowState) : null;
  }

  /** The detector a calibration's previous window left, or undefined (newWindow then starts a fresh one). */
  #detector(calibrationId: string): DetectorState | undefined {
    const row = this.#sql.exec<{ state: string }>(`SELECT state FROM detectors WHERE calibration_id = ?`, calibrationId).toArray()[0];
    return row ? (JSON.parse(row.state) as DetectorState) : undefined;
  }

  #allWindows(): WindowState[] {
    return this.#sql
      .exec<{ state: string }>(`SELECT state FROM windows ORDER BY updated_at DESC`)
      .toArray()
      .map((r) => JSON.parse(r.state) as WindowState);
  }

  /** Moves expired windows to history (keeping MAX_WINDOW_HISTORY) and forgets old batch ids. */
  #rollOver(nowMs: number, config: DriftConfig): void {
    for (const w of this.#allWindows()) {
      if (!windowExpired(w, nowMs)) continue;
      this.#archive(w, nowMs, config);
      // The detector outlives the window: a change that starts late in a day is not diluted by the day's earlier data.
      if (w.detector)
        this.#sql.exec(
          `INSERT INTO detectors (calibration_id, updated_at, state) VALUES (?, ?, ?)
           ON CONFLICT (calibration_id) DO UPDATE SET updated_at = excluded.updated_at, state = excluded.state`,
          w.calibration_id,
          nowMs,
          JSON.stringify(w.detector),
        );
      this.#sql.exec(`DELETE FROM windows WHERE calibration_id = ?`, w.calibration_id);
    }
    this.#sql.exec(`DELETE FROM batches WHERE received_at < ?`, nowMs - BATCH_ID_RETENTION_MS);
    this.#sql.exec(`DELETE FROM detectors WHERE updated_at < ?`, nowMs - DETECTOR_IDLE_RETENTION_MS);
    this.#sql.exec(`DELETE FROM judgment_batches WHERE received_at < ?`, nowMs - BATCH_ID_RETENTION_MS);
    this.#sql.exec(`DELETE FROM coverage WHERE updated_at < ?`, nowMs - DETECTOR_IDLE_RETENTION_MS);
  }

  #coverageStates(): CoverageState[] {
    return this.#sql
      .exec<{ state: string }>(`SELECT state FROM coverage ORDER BY updated_at DESC`)
      .toArray()
      .map((r) => JSON.parse(r.state) as CoverageState);
  }

  #archive(w: WindowState, nowMs: number, config: DriftConfig): void {
    if (w.batches === 0) return;
    this.#sql.exec(
      `INSERT INTO history (calibration_id, ended_at, status) VALUES (?, ?, ?)`,
      w.calibration_id,
      nowMs,
      JSON.stringify(windowStatus(w, evaluateWindow(w, config))),
    );
    this.#sql.exec(`DELETE FROM history WHERE id NOT IN (SELECT id FROM history ORDER BY id DESC LIMIT ?)`, MAX_WINDOW_HISTORY);
  }

  async observe(input: ObserveInput): Promise<ObserveOutcome> {
    // Synchronous from here to the end of the transaction: no other request can interleave.
    const outcome = this.ctx.storage.transactionSync((): ObserveOutcome => {
      this.#rollOver(input.now_ms, input.config);
      return this.#count(input);
    });
    if (outcome.alerts.length > 0) await this.#raisePending(input.now_ms);
    return outcome;
  }

  /**
   * Queued batches of this gate, from one consumer batch (src/monitoring/queue-consumer.ts): each runs through the
   * same synchronous transaction as observe() (batch id claim, window update, any alarm), one after the other with
   * no await in between, so nothing interleaves and every batch is counted at most once. A batch whose transaction
   * throws is rolled back alone and reported `failed` (the consumer retries it); a mismatch is not counted but
   * recorded in the status, since nobody is waiting for its answer.
   */
  async observeMany(input: ObserveManyInput): Promise<ObserveManyOutcome> {
    const now = input.now_ms;
    this.ctx.storage.transactionSync(() => {
      this.#rollOver(now, input.config);
      this.#sql.exec(`INSERT INTO queued_ingest (id, calls) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET calls = calls + 1`);
    });
    const results: QueuedBatchResult[] = [];
    const alerts: AlertKind[] = [];
    for (const batch of input.batches) {
      try {
        const outcome = this.ctx.storage.transactionSync((): ObserveOutcome => {
          const o = this.#count({ ...batch, now_ms: now, config: input.config });
          const column = o.mismatch ? "mismatches" : o.duplicate ? "duplicates" : "counted";
          this.#sql.exec(`UPDATE queued_ingest SET batches = batches + 1, ${column} = ${column} + 1 WHERE id = 1`);
          if (o.mismatch)
            this.#sql.exec(`UPDATE queued_ingest SET last_mismatch_batch_id = ?, last_mismatch_at = ? WHERE id = 1`, batch.batch_id, now);
          return o;
        });
        alerts.push(...outcome.alerts);
        results.push({ batch_id: batch.batch_id, status: outcome.mismatch ? "mismatch" : outcome.duplicate ? "duplicate" : "counted" });
      } catch (e) {
        console.error(`counting queued batch ${JSON.stringify(batch.batch_id)} failed; the consumer retries it`, e);
        results.push({ batch_id: batch.batch_id, status: "failed", error: e instanceof Error ? e.message : String(e) });
      }
    }
    if (alerts.length > 0) await this.#raisePending(now);
    return { results, alerts };
  }

  /**
   * Claims the batch id and adds the batch to its calibration's window, queuing any alarm in `pending_alerts`.
   * Synchronous: call it inside transactionSync, after #rollOver.
   */
  #count(input: ObserveInput): ObserveOutcome {
    const { now_ms: now, config } = input;
    const random = (): number => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
    const existing = this.#load(input.calibration.id);
    const base =
      existing ??
      newWindow(input.calibration.id, input.calibration.index_version, input.calibration.expectation, now, 0, this.#detector(input.calibration.id));
    const claimed = this.#sql.exec(
      `INSERT OR IGNORE INTO batches (batch_id, received_at, hash) VALUES (?, ?, ?)`,
      input.batch_id,
      now,
      input.batch_hash,
    ).rowsWritten;
    if (claimed === 0) {
      // A retry carries the same body; the same id with other counts is a client bug, refused rather than dropped.
      const seen = this.#sql.exec<{ hash: string | null }>(`SELECT hash FROM batches WHERE batch_id = ?`, input.batch_id).toArray()[0];
      const mismatch = seen?.hash != null && seen.hash !== input.batch_hash;
      return { duplicate: true, mismatch, window: windowStatus(base, evaluateWindow(base, config)), alerts: [] };
    }

    let next = addBatch(base, input.queries, input.scores, random, now, config);
    const ev = evaluateWindow(next, config);
    const status = windowStatus(next, ev);
    const common = { gate_id: input.gate.gate_id, gate: input.gate, calibration_ids: [input.calibration.id] };
    const alerts: AlertInput[] = [];
    if (ev.dropRate.alarm) alerts.push({ ...common, kind: "drop_rate_drift", summary: driftSummary(status), details: { window: status } });
    if (ev.emptyContext?.alarm) alerts.push({ ...common, kind: "empty_context", summary: emptyContextSummary(status), details: { window: status } });
    if (alerts.length > 0) {
      // Reset the detector after an alarm: archive the alarmed window, open a fresh one with a fresh detector.
      this.#archive(next, now, config);
      next = newWindow(next.calibration_id, next.index_version, next.expectation, now, next.alarms + 1);
      for (const a of alerts) this.#sql.exec(`INSERT INTO pending_alerts (created_at, alert) VALUES (?, ?)`, now, JSON.stringify(a));
    }
    this.#sql.exec(
      `INSERT INTO windows (calibration_id, updated_at, state) VALUES (?, ?, ?)
       ON CONFLICT (calibration_id) DO UPDATE SET updated_at = excluded.updated_at, state = excluded.state`,
      next.calibration_id,
      now,
      JSON.stringify(next),
    );
    return { duplicate: false, mismatch: false, window: status, alerts: alerts.map((a) => a.kind) };
  }

  /**
   * Adds judged production queries to the coverage test of their recall calibration, in one synchronous transaction
   * like observe(): deduplicated by batch id, the state reset (and a recall_drift alert queued) when it alarms.
   */
  async judge(input: JudgeInput): Promise<JudgeOutcome> {
    const now = input.now_ms;
    const outcome = this.ctx.storage.transactionSync((): JudgeOutcome => {
      this.#rollOver(now, input.config);
      const row = this.#sql.exec<{ state: string }>(`SELECT state FROM coverage WHERE calibration_id = ?`, input.calibration.id).toArray()[0];
      const base = row ? (JSON.parse(row.state) as CoverageState) : newCoverageState(input.calibration, now);
      const claimed = this.#sql.exec(`INSERT OR IGNORE INTO judgment_batches (batch_id, received_at) VALUES (?, ?)`, input.batch_id, now).rowsWritten;
      if (claimed === 0) return { duplicate: true, recall: coverageStatus(base, evaluateCoverageState(base, input.config)), alerts: [] };
      let next = addJudgments(base, input.covered, input.without_relevant);
      const status = coverageStatus(next, evaluateCoverageState(next, input.config));
      const alerts: AlertInput[] = [];
      if (status.alarm) {
        alerts.push({
          gate_id: input.gate.gate_id,
          gate: input.gate,
          calibration_ids: [input.calibration.id],
          kind: "recall_drift",
          summary: recallDriftSummary(status),
          details: { recall: status },
        });
        // Restart the test after an alarm: a continued fall alarms again (and updates the open alert).
        next = newCoverageState(next.calibration, now, next.alarms + 1);
        for (const a of alerts) this.#sql.exec(`INSERT INTO pending_alerts (created_at, alert) VALUES (?, ?)`, now, JSON.stringify(a));
      }
      this.#sql.exec(
        `INSERT INTO coverage (calibration_id, updated_at, state) VALUES (?, ?, ?)
         ON CONFLICT (calibration_id) DO UPDATE SET updated_at = excluded.updated_at, state = excluded.state`,
        input.calibration.id,
        now,
        JSON.stringify(next),
      );
      return { duplicate: false, recall: status, alerts: alerts.map((a) => a.kind) };
    });
    if (outcome.alerts.length > 0) await this.#raisePending(now);
    return outcome;
  }

  /** Raises every pending alert in D1; on failure keeps the rest and schedules the object's alarm to retry. */
  async #raisePending(nowMs: number): Promise<void> {
    const rows = this.#sql.exec<{ id: number; alert: string }>(`SELECT id, alert FROM pending_alerts ORDER BY id`).toArray();
    const deps = alertDeps(
      this.env,
      (p) => this.ctx.waitUntil(p),
      () => new Date(nowMs),
    );
    for (const row of rows) {
      try {
        await raiseAlert(JSON.parse(row.alert) as AlertInput, deps);
        this.#sql.exec(`DELETE FROM pending_alerts WHERE id = ?`, row.id);
      } catch (e) {
        console.error("raising a drift alert failed; the monitor's alarm retries it", e);
        await this.ctx.storage.setAlarm(Date.now() + ALERT_RETRY_MS);
        return;
      }
    }
  }

  /** Retries pending alerts; throwing makes the platform retry the alarm with backoff. */
  override async alarm(): Promise<void> {
    await this.#raisePending(Date.now());
    if (this.#sql.exec(`SELECT 1 FROM pending_alerts LIMIT 1`).toArray().length > 0) throw new Error("pending alerts remain");
  }

  #queuedIngest(): QueuedIngestStatus {
    const row = this.#sql
      .exec<{
        calls: number;
        batches: number;
        counted: number;
        duplicates: number;
        mismatches: number;
        last_mismatch_batch_id: string | null;
        last_mismatch_at: number | null;
      }>(`SELECT calls, batches, counted, duplicates, mismatches, last_mismatch_batch_id, last_mismatch_at FROM queued_ingest WHERE id = 1`)
      .toArray()[0];
    if (row === undefined) return { calls: 0, batches: 0, counted: 0, duplicates: 0, mismatches: 0, last_mismatch: null };
    const { last_mismatch_batch_id: id, last_mismatch_at: at, ...counts } = row;
    return { ...counts, last_mismatch: id === null || at === null ? null : { batch_id: id, at: new Date(at).toISOString() } };
  }

  /**
   * Status of the open windows; with `detail`, also the history and each open window's score sample (for the caller
   * to compare with the calibration). /metrics asks without detail: no history and no samples cross the RPC.
   */
  async status(gateId: string, nowMs: number, config: DriftConfig, detail = true): Promise<MonitorSnapshot> {
    this.#rollOver(nowMs, config);
    const open = this.#allWindows();
    const windows = open.map((w) => windowStatus(w, evaluateWindow(w, config)));
    const recall = this.#coverageStates().map((c) => coverageStatus(c, evaluateCoverageState(c, config)));
    const queued_ingest = this.#queuedIngest();
    if (!detail) return { gate_id: gateId, windows, history: [], recall, queued_ingest, samples: {} };
    const samples = Object.fromEntries(open.map((w) => [w.calibration_id, w.reservoir]));
    const history = this.#sql
      .exec<{ status: string }>(`SELECT status FROM history ORDER BY id DESC`)
      .toArray()
      .map((r) => JSON.parse(r.status) as WindowStatus);
    return { gate_id: gateId, windows, history, recall, queued_ingest, samples };
  }
}
