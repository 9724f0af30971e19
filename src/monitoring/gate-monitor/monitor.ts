/**
 * What one gate's monitor does, over the modules that own its tables (batch-ledger.ts, windows.ts, coverage.ts,
 * alert-outbox.ts, ingest-counters.ts, series.ts; schema in migrations.ts). The GateMonitor Durable Object
 * (src/worker/gate-monitor.ts) is its host: it constructs this over the object's storage, answers RPC with it, and
 * raises what the outbox holds.
 *
 * Concurrency: a Durable Object is single-threaded, but other requests run whenever it awaits. So every operation
 * here is synchronous: from the batch id claim to the window update and any alarm it raises, one transaction with no
 * await in between. An alarm is queued in the outbox in that same transaction and raised in D1 afterwards (by the
 * host), so no count is lost, no batch counted twice, no alert lost.
 */
import type { AlertInput } from "../../alerts/lifecycle";
import type { AlertKind, ArmDrift, RecallAlertDetails, SeriesBucket, SeriesTraffic, WindowAlertDetails } from "../../contract";
import type { DriftConfig } from "../../stats/drift-config";
import type { DetectorEvaluation } from "../../stats/drift-detector";
import { abstentionCalibrationRate, abstentionSummary, driftSummary, emptyContextSummary } from "../alarm-sentences";
import { addJudgments, coverageStatus, evaluateCoverageState, newCoverageState, recallDriftSummary, restartCoverage } from "../coverage-window";
import type {
  JudgeInput,
  JudgeOutcome,
  LiveSums,
  MonitorSnapshot,
  ObserveInput,
  ObserveManyInput,
  ObserveManyOutcome,
  ObserveOutcome,
  QueuedBatchResult,
  SnapshotWindow,
} from "../monitor-contract";
import { armKey, shadowKey } from "../monitor-contract";
import { unscoredAlarm, unscoredDetails, unscoredSummary } from "../unscored";
import {
  addBatch,
  DRIFT_WINDOW_MS,
  evaluateWindow,
  newWindow,
  restartDetector,
  type WindowState,
  type WindowTraffic,
  windowStatus,
  withoutAlarmed,
} from "../window";
import { AlertOutbox } from "./alert-outbox";
import { BatchLedger } from "./batch-ledger";
import { CoverageTests } from "./coverage";
import { IngestCounters } from "./ingest-counters";
import { LiveEvidence } from "./live-evidence";
import { migrate } from "./migrations";
import { Series } from "./series";
import { Windows } from "./windows";

/** The part of a Durable Object's storage the monitor uses. */
export type MonitorStorage = Pick<DurableObjectStorage, "sql" | "transactionSync">;

export class Monitor {
  readonly #storage: MonitorStorage;
  readonly #ledger: BatchLedger;
  readonly #windows: Windows;
  readonly #coverage: CoverageTests;
  readonly #counters: IngestCounters;
  readonly #series: Series;
  readonly #evidence: LiveEvidence;
  /** Alarms decided and not yet raised in D1: the host drains it. */
  readonly outbox: AlertOutbox;

  /** Brings the object's schema up to date (migrations.ts) before anything reads it; `now` (ms) dates its ledger rows. */
  constructor(storage: MonitorStorage, now: () => number) {
    this.#storage = storage;
    migrate(storage, now);
    const sql = storage.sql;
    this.#ledger = new BatchLedger(sql);
    this.#windows = new Windows(sql);
    this.#coverage = new CoverageTests(sql);
    this.#counters = new IngestCounters(sql);
    this.#series = new Series(sql);
    this.#evidence = new LiveEvidence(sql);
    this.outbox = new AlertOutbox(sql);
  }

  /** Moves expired windows to the history and applies every retention. */
  #rollOver(nowMs: number, config: DriftConfig): void {
    this.#windows.rollOver(nowMs, config);
    this.#ledger.forgetExpired(nowMs);
    this.#windows.forgetIdleDetectors(nowMs);
    this.#coverage.forgetIdle(nowMs);
    this.#evidence.forgetIdle(nowMs);
  }

  observe(input: ObserveInput): ObserveOutcome {
    return this.#storage.transactionSync((): ObserveOutcome => {
      this.#rollOver(input.now_ms, input.config);
      return this.#count(input);
    });
  }

  /**
   * Queued batches of this gate, from one consumer batch (src/monitoring/queue-consumer.ts): each runs through the
   * same synchronous transaction as observe() (batch id claim, window update, any alarm), one after the other, so
   * every batch is counted at most once. A batch whose transaction throws is rolled back alone and reported `failed`
   * (the consumer retries it); a mismatch is not counted but recorded in the status, since nobody is waiting for its
   * answer.
   */
  observeMany(input: ObserveManyInput): ObserveManyOutcome {
    const now = input.now_ms;
    this.#storage.transactionSync(() => {
      this.#rollOver(now, input.config);
      this.#counters.countCall();
    });
    const results: QueuedBatchResult[] = [];
    const alerts: AlertKind[] = [];
    for (const batch of input.batches) {
      try {
        const outcome = this.#storage.transactionSync((): ObserveOutcome => {
          const o = this.#count({ ...batch, now_ms: now, config: input.config });
          this.#counters.record(o.mismatch ? "mismatch" : o.duplicate ? "duplicate" : "counted", batch.batch_id, now);
          return o;
        });
        alerts.push(...outcome.alerts);
        results.push({ batch_id: batch.batch_id, status: outcome.mismatch ? "mismatch" : outcome.duplicate ? "duplicate" : "counted" });
      } catch (e) {
        console.error(`counting queued batch ${JSON.stringify(batch.batch_id)} failed; the consumer retries it`, e);
        results.push({ batch_id: batch.batch_id, status: "failed", error: e instanceof Error ? e.message : String(e) });
      }
    }
    return { results, alerts };
  }

  /**
   * Claims the batch id and adds the batch to its calibration's window, queuing any alarm in the outbox.
   * Synchronous: call it inside transactionSync, after #rollOver.
   */
  #count(input: ObserveInput): ObserveOutcome {
    const { now_ms: now, config } = input;
    const random = (): number => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
    if (input.late_candidate === true) return this.#countLateCandidate(input);
    const candidateArm = input.role !== "shadow" && input.promotion?.arm === "candidate" ? input.promotion : null;
    if (candidateArm !== null) return this.#countCandidate(input, candidateArm, random);
    // A window counts one kind of traffic, so a shadow's numbers are never read as the gate's (GET /v1/monitor's
    // `role`): a calibration's served and mirrored batches go to two windows, each with its own detector
    // (windows.ts, keyOf). A served window stored before windows kept their traffic takes served batches.
    const traffic = input.role === "shadow" ? "shadow" : "served";
    const open = this.#windows.open(input.calibration.id, traffic);
    const carried = open === null ? this.#windows.alarms(input.calibration.id, traffic) : undefined;
    const carriedTests = open === null ? this.#windows.testDetectors(input.calibration.id, traffic) : undefined;
    const base: WindowState =
      open ??
      ({
        ...newWindow(
          input.calibration.id,
          input.calibration.index_version,
          input.calibration.expectation,
          now,
          0,
          this.#windows.detector(input.calibration.id, traffic),
        ),
        role: traffic,
        // The alarmed tests' numbers outlive the day their window ends, as their alerts do.
        ...(carried ? { alarmed: carried } : {}),
        // The tests that restarted apart carry their own detectors with the shared one.
        ...(carriedTests ? { test_detectors: carriedTests } : {}),
      } satisfies WindowState);
    const claim = this.#ledger.claim(input.batch_id, now, input.batch_hash);
    if (!claim.claimed) return { duplicate: true, mismatch: claim.mismatch, window: windowStatus(base, evaluateWindow(base, config)), alerts: [] };

    let next = addBatch(base, input.queries, input.scores, random, now, config);
    const ev = evaluateWindow(next, config);
    const status = windowStatus(next, ev);
    const common = { gate_id: input.gate.gate_id, gate: input.gate, calibration_ids: [input.calibration.id] };
    // An alert's numbers are this alarm's: not an earlier alarm of the window (which may belong to a resolved alert).
    const details = { window: withoutAlarmed(status) } satisfies WindowAlertDetails;
    const alerts: AlertInput[] = [];
    if (ev.dropRate.alarm)
      alerts.push({ ...common, kind: "drop_rate_drift", summary: driftSummary(status, next.expectation.expected_drop_rate), details });
    if (ev.emptyContext?.alarm) alerts.push({ ...common, kind: "empty_context", summary: emptyContextSummary(status), details });
    if (ev.abstention?.alarm)
      alerts.push({
        ...common,
        kind: "abstention_drift",
        summary: abstentionSummary(status, abstentionCalibrationRate(next.expectation.abstention)),
        details,
      });
    this.#recordSeries(input, traffic, next, ev);
    this.#countEvidence(input, now);
    // A shadow's window runs exactly as the active one's, but its alarms are its own status: never the gate's alerts.
    const shadow = input.role === "shadow";
    if (alerts.length > 0) {
      // Restart the tests that alarmed (only those: the others keep their evidence, ../window.ts restartDetector), so a
      // continued shift alarms again on fresh evidence. The window keeps its counts: the day's drop rate is still the
      // day's (the gate reads "alarm" from the alert, ../drift-state.ts), and the alarmed tests' numbers, for the status
      // while their alerts stand (../status.ts).
      next = restartDetector(next, status, ev, now);
      if (!shadow) for (const a of alerts) this.outbox.add({ ...a, detected_at: new Date(now).toISOString() }, now);
    }
    // Not a drift alarm (the detector does not restart, the gate is not in alarm): services reporting candidates without
    // a score, at most once a window (../unscored.ts). A shadow's are its mirror's, never the gate's alerts.
    const raised = shadow ? [] : alerts.map((a) => a.kind);
    if (!shadow && unscoredAlarm(next)) {
      next = { ...next, unscored_alerted_at: now };
      const alert = { ...common, kind: "unscored_candidates" as const, summary: unscoredSummary(status), details: unscoredDetails(status) };
      this.outbox.add({ ...alert, detected_at: new Date(now).toISOString() }, now);
      raised.push(alert.kind);
    }
    this.#windows.save(next, now);
    const p = input.promotion;
    const arms = !shadow && p !== undefined && p.arm === "control" ? { arms: this.#evidence.arms(p.id, p.step) } : {};
    return { duplicate: false, mismatch: false, window: status, alerts: raised, ...arms };
  }

  /**
   * A promotion's candidate-arm batch: counted in the arm's evidence and in the arm's own drift window for the step
   * (the gate's detector against the candidate calibration's expectation, started at the step's first candidate
   * batch, no score sample): the drop rate, the empty context (or min_keep binding) and the abstention rate, each
   * where the calibration has its expectation. Its first alarm is kept in the row and stops the step (the promotion
   * decides on it); it never reaches the outbox: arm traffic raises no production alert of the gate.
   */
  #countCandidate(input: ObserveInput, p: ObserveInput["promotion"] & {}, random: () => number): ObserveOutcome {
    const { now_ms: now, config } = input;
    const key = armKey(p.id, p.step, "candidate");
    const prev = this.#evidence.armDrift(key);
    const base = prev?.window ?? newWindow(input.calibration.id, input.calibration.index_version, input.calibration.expectation, now);
    const claim = this.#ledger.claim(input.batch_id, now, input.batch_hash);
    if (!claim.claimed) return { duplicate: true, mismatch: claim.mismatch, window: windowStatus(base, evaluateWindow(base, config)), alerts: [] };
    const next = addBatch(base, input.queries, null, random, now, config);
    const ev = evaluateWindow(next, config);
    const window = windowStatus(next, ev);
    const fired: ArmDrift["alarm"] = ev.dropRate.alarm
      ? {
          kind: "drop_rate_drift",
          at: new Date(now).toISOString(),
          summary: driftSummary(window, next.expectation.expected_drop_rate, "candidate arm"),
        }
      : ev.emptyContext?.alarm
        ? { kind: "empty_context", at: new Date(now).toISOString(), summary: emptyContextSummary(window, "candidate arm") }
        : ev.abstention?.alarm
          ? {
              kind: "abstention_drift",
              at: new Date(now).toISOString(),
              summary: abstentionSummary(window, abstentionCalibrationRate(next.expectation.abstention), "candidate arm"),
            }
          : null;
    this.#recordSeries(input, "candidate", next, ev);
    // The first alarm stays: the step is stopped on it, and later batches of the step cannot unsay it.
    this.#evidence.add(key, input.queries, now, input.calibration.expectation.guards, {
      window: next,
      view: { window, alarm: prev?.alarm ?? fired },
    });
    return { duplicate: false, mismatch: false, window, alerts: [], arms: this.#evidence.arms(p.id, p.step) };
  }

  /**
   * A candidate-arm batch that arrived after its step ended (a rollback, an advance, a supersession while it was queued
   * in a client; after a completion the batch is served traffic and not marked late: src/monitoring/batch-promotion.ts): its
   * batch id is claimed (a retry is a duplicate) and its queries are counted nowhere. Not as served
   * traffic: the candidate's share is no longer served, so its drift would page production about a calibration nobody
   * gets, and its queries would join the served span the shadows are compared against. Not as shadow traffic either:
   * they were not mirrored at the shadow's rate and would skew that comparison. Not in the arm: its step is decided
   * (and a closed promotion's evidence deleted). The answer's window is the calibration's, empty: nothing was counted.
   */
  #countLateCandidate(input: ObserveInput): ObserveOutcome {
    const { now_ms: now, config } = input;
    const empty = newWindow(input.calibration.id, input.calibration.index_version, input.calibration.expectation, now);
    const window = windowStatus(empty, evaluateWindow(empty, config));
    const claim = this.#ledger.claim(input.batch_id, now, input.batch_hash);
    return { duplicate: !claim.claimed, mismatch: !claim.claimed && claim.mismatch, window, alerts: [] };
  }

  /** The batch's share of its calibration's hour of `traffic`: the traffic of the window (and detector) it counted in. */
  #recordSeries(input: ObserveInput, traffic: SeriesTraffic, w: WindowState, ev: DetectorEvaluation): void {
    this.#series.record({
      calibration_id: w.calibration_id,
      traffic,
      index_version: w.index_version,
      now_ms: input.now_ms,
      queries: input.queries,
      expected: ev.dropRate.expected,
      band: ev.dropRate.band,
      log_evidence: ev.dropRate.logEvidence,
      log_threshold: ev.logThreshold,
      empty_context_log_evidence: ev.emptyContext?.logEvidence ?? null,
      drop_rate_alarm: ev.dropRate.alarm,
      empty_context_alarm: ev.emptyContext?.alarm ?? false,
      abstention_alarm: ev.abstention?.alarm ?? false,
      min_keep: w.expectation.guards?.min_keep ?? 0,
    });
  }

  /** A served or shadow batch's share of the live evidence (live-evidence.ts): a shadow's, the control arm's, the served span. */
  #countEvidence(input: ObserveInput, now: number): void {
    const guards = input.calibration.expectation.guards;
    if (input.role === "shadow") {
      this.#evidence.add(shadowKey(input.calibration.id, input.shadow_since_seq ?? 0), input.queries, now, guards);
      return;
    }
    const p = input.promotion;
    // Unassigned queries are not randomized: they take no part in an arm's evidence.
    if (p !== undefined && p.arm === "control") this.#evidence.add(armKey(p.id, p.step, p.arm), input.queries, now, guards);
    this.#evidence.addServed(input.queries, now, guards);
  }

  /** The live evidence by key (live-evidence.ts). */
  evidence(): Record<string, LiveSums> {
    return this.#evidence.all();
  }

  /** Ends the calibration's shadow window and detector (windows.ts endShadow); true when a window was open. */
  endShadow(calibrationId: string, nowMs: number, config: DriftConfig): boolean {
    return this.#storage.transactionSync(() => this.#windows.endShadow(calibrationId, nowMs, config));
  }

  /** Deletes the evidence rows under `prefixes` (a closed promotion's, a removed shadow's); returns how many. */
  forgetEvidence(prefixes: readonly string[]): number {
    return this.#storage.transactionSync(() => this.#evidence.forget(prefixes));
  }

  /**
   * Adds judged production queries to the coverage test of their recall calibration, in one synchronous transaction
   * like observe(): deduplicated by batch id, the state reset (and a recall_drift alert queued) when it alarms.
   */
  judge(input: JudgeInput): JudgeOutcome {
    const now = input.now_ms;
    return this.#storage.transactionSync((): JudgeOutcome => {
      this.#rollOver(now, input.config);
      const base = this.#coverage.get(input.calibration.id) ?? newCoverageState(input.calibration, now);
      const claim = this.#ledger.claimJudgment(input.batch_id, now, input.batch_hash);
      if (!claim.claimed) {
        const { alarmed: _earlier, ...recall } = coverageStatus(base, evaluateCoverageState(base, input.config));
        return { duplicate: true, mismatch: claim.mismatch, recall, alerts: [] };
      }
      let next = addJudgments(base, input.covered, input.without_relevant);
      // The answer and the alert carry this test's numbers, not those of an earlier alarm.
      const { alarmed: _earlier, ...status } = coverageStatus(next, evaluateCoverageState(next, input.config));
      const alerts: AlertInput[] = [];
      if (status.alarm) {
        alerts.push({
          gate_id: input.gate.gate_id,
          gate: input.gate,
          calibration_ids: [input.calibration.id],
          kind: "recall_drift",
          summary: recallDriftSummary(status),
          details: { recall: status } satisfies RecallAlertDetails,
        });
        // Restart the test after an alarm: a continued fall alarms again (and updates the open alert). The alarmed
        // test's numbers stay for the status while its alert stands (../status.ts).
        next = restartCoverage(next, status, now);
        for (const a of alerts) this.outbox.add({ ...a, detected_at: new Date(now).toISOString() }, now);
      }
      this.#coverage.save(next, now);
      return { duplicate: false, mismatch: false, recall: status, alerts: alerts.map((a) => a.kind) };
    });
  }

  /**
   * Status of the open windows; with `detail`, also the history and each open window's score sample (for the caller
   * to compare with the calibration). /metrics asks without detail: no history and no samples cross the RPC.
   */
  status(gateId: string, nowMs: number, config: DriftConfig, detail = true): MonitorSnapshot {
    this.#rollOver(nowMs, config);
    const open = this.#windows.allOpen();
    const legacyShadows = open.some((w) => w.role === undefined) ? this.#evidence.shadowCalibrations() : new Set<string>();
    const traffic = (w: WindowState): WindowTraffic => w.role ?? (legacyShadows.has(w.calibration_id) ? "shadow" : "served");
    const candidates = this.#evidence.candidateWindows(nowMs - DRIFT_WINDOW_MS);
    const windows: SnapshotWindow[] = [
      ...open.map((w) => ({ ...windowStatus(w, evaluateWindow(w, config)), traffic: traffic(w) })),
      ...candidates.map((c) => ({
        ...windowStatus(c.window, evaluateWindow(c.window, config)),
        traffic: "candidate" as const,
        promotion: c.promotion,
      })),
    ];
    const recall = this.#coverage.all().map((c) => coverageStatus(c, evaluateCoverageState(c, config)));
    const queued_ingest = this.#counters.status();
    const pending_alerts = this.outbox.pending();
    if (!detail) return { gate_id: gateId, windows, history: [], recall, queued_ingest, samples: {}, pending_alerts };
    // one sample per calibration: its served window's where it has both (the shadow's mirrored scores come first, so
    // the served ones overwrite them)
    const samples = Object.fromEntries(
      [...open].sort((a, b) => Number(traffic(a) === "served") - Number(traffic(b) === "served")).map((w) => [w.calibration_id, w.reservoir]),
    );
    return { gate_id: gateId, windows, history: this.#windows.history(), recall, queued_ingest, samples, pending_alerts };
  }

  /** The series buckets overlapping [fromMs, toMs], oldest first (series.ts). */
  series(fromMs: number, toMs: number): SeriesBucket[] {
    return this.#series.read(fromMs, toMs);
  }
}
