/**
 * The monitor's drift windows: the open window of each calibration (`windows`), finished windows kept for the
 * history (`history`, the newest MAX_WINDOW_HISTORY), and the change detectors that outlive their window
 * (`detectors`, forgotten after DETECTOR_IDLE_RETENTION_MS without a batch). The window arithmetic is pure
 * (../window.ts); this module stores it. Owns the tables `windows`, `history` and `detectors` (migrations.ts).
 */
import type { WindowStatus } from "../../contract";
import { DETECTOR_IDLE_RETENTION_MS, MAX_WINDOW_HISTORY } from "../../platform/limits";
import type { DriftConfig } from "../../stats/drift-config";
import type { DetectorState } from "../../stats/e-detector";
import type { SnapshotWindow } from "../monitor-contract";
import { evaluateWindow, type TestDetectors, type WindowAlarms, type WindowState, type WindowTraffic, windowExpired, windowStatus } from "../window";
import { StateTable } from "./state-table";

/**
 * A window's key in the `windows` and `detectors` tables: the calibration id for served traffic (and for windows
 * stored before windows kept their traffic), the id and "shadow" for a shadow's mirrored traffic. A calibration that
 * gets both at once (a shadow just activated while clients still mirror for a few seconds; a replaced calibration put
 * in shadow while late served batches arrive) keeps one window and one detector of each: neither closes the other,
 * and evidence gathered on mirrored traffic never raises an alarm of served traffic, nor the other way round.
 */
const keyOf = (calibrationId: string, traffic: WindowTraffic | undefined): string =>
  traffic === "shadow" ? `${calibrationId}\u0000shadow` : calibrationId;

/**
 * The key, in the `detectors` table, of the alarms a window carries to the next (the alarmed tests' numbers, which the
 * status shows while their alerts stand: an alert outlives the day its window ends). Kept and forgotten with the
 * detector.
 */
const alarmsKeyOf = (calibrationId: string, traffic: WindowTraffic | undefined): string => `${keyOf(calibrationId, traffic)}\u0000alarmed`;

/**
 * The key, in the `detectors` table, of the detectors of the tests that restarted apart from the window's shared one
 * (../window.ts WindowState.test_detectors): carried, kept and forgotten with it. No row: every test reads the shared
 * detector, as before tests restarted apart.
 */
const testsKeyOf = (calibrationId: string, traffic: WindowTraffic | undefined): string => `${keyOf(calibrationId, traffic)}\u0000tests`;

export class Windows {
  readonly #sql: SqlStorage;
  readonly #open: StateTable<WindowState>;
  readonly #detectors: StateTable<DetectorState>;
  readonly #alarms: StateTable<WindowAlarms>;
  readonly #tests: StateTable<TestDetectors>;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#open = new StateTable<WindowState>(sql, "windows");
    this.#detectors = new StateTable<DetectorState>(sql, "detectors");
    this.#alarms = new StateTable<WindowAlarms>(sql, "detectors");
    this.#tests = new StateTable<TestDetectors>(sql, "detectors");
  }

  /** The alarms the calibration's previous window of this traffic carried, or undefined. */
  alarms(calibrationId: string, traffic: WindowTraffic): WindowAlarms | undefined {
    return this.#alarms.get(alarmsKeyOf(calibrationId, traffic));
  }

  /** The calibration's open window of this traffic, or null. */
  open(calibrationId: string, traffic: WindowTraffic): WindowState | null {
    return this.#open.get(keyOf(calibrationId, traffic)) ?? null;
  }

  /** Every open window, the most recently updated first. */
  allOpen(): WindowState[] {
    return this.#open.all();
  }

  save(w: WindowState, nowMs: number): void {
    this.#open.put(keyOf(w.calibration_id, w.role), nowMs, w);
  }

  /** The detector the calibration's previous window of this traffic left, or undefined (a new window starts a fresh one). */
  detector(calibrationId: string, traffic: WindowTraffic): DetectorState | undefined {
    return this.#detectors.get(keyOf(calibrationId, traffic));
  }

  /** The detectors of the tests that restarted apart, as the calibration's previous window of this traffic left them, or undefined. */
  testDetectors(calibrationId: string, traffic: WindowTraffic): TestDetectors | undefined {
    return this.#tests.get(testsKeyOf(calibrationId, traffic));
  }

  /** Adds a finished window to the history (a window without batches leaves none), keeping the newest MAX_WINDOW_HISTORY. */
  archive(w: WindowState, nowMs: number, config: DriftConfig): void {
    if (w.batches === 0) return;
    this.#sql.exec(
      `INSERT INTO history (calibration_id, ended_at, status) VALUES (?, ?, ?)`,
      w.calibration_id,
      nowMs,
      JSON.stringify({ ...windowStatus(w, evaluateWindow(w, config)), ...(w.role === undefined ? {} : { traffic: w.role }) }),
    );
    this.#sql.exec(`DELETE FROM history WHERE id NOT IN (SELECT id FROM history ORDER BY id DESC LIMIT ?)`, MAX_WINDOW_HISTORY);
  }

  /** The finished windows, newest first (those archived before windows kept their traffic read as served). */
  history(): SnapshotWindow[] {
    return this.#sql
      .exec<{ status: string }>(`SELECT status FROM history ORDER BY id DESC`)
      .toArray()
      .map((r) => ({ traffic: "served", ...(JSON.parse(r.status) as WindowStatus & { traffic?: WindowTraffic }) }));
  }

  /** Moves expired windows to the history, keeping their detectors, and forgets detectors idle past their retention. */
  rollOver(nowMs: number, config: DriftConfig): void {
    for (const w of this.allOpen()) {
      if (!windowExpired(w, nowMs)) continue;
      this.archive(w, nowMs, config);
      // The detector outlives the window: a change that starts late in a day is not diluted by the day's earlier data.
      if (w.detector) this.#detectors.put(keyOf(w.calibration_id, w.role), nowMs, w.detector);
      // Written or cleared with the shared detector, so the next window never pairs it with an older window's tests.
      if (w.test_detectors) this.#tests.put(testsKeyOf(w.calibration_id, w.role), nowMs, w.test_detectors);
      else this.#tests.delete(testsKeyOf(w.calibration_id, w.role));
      if (w.alarmed) this.#alarms.put(alarmsKeyOf(w.calibration_id, w.role), nowMs, w.alarmed);
      this.#open.delete(keyOf(w.calibration_id, w.role));
    }
  }

  /**
   * Ends the calibration's shadow window now (archived when it counted batches) and forgets its shadow detector and
   * alarms: a calibration that leaves its gate's shadow set (removed, activated, promoted) is no shadow any more, and a
   * later stint in shadow starts afresh, as its live evidence does. Its served window, if any, is untouched.
   */
  endShadow(calibrationId: string, nowMs: number, config: DriftConfig): boolean {
    const key = keyOf(calibrationId, "shadow");
    const open = this.#open.get(key);
    if (open !== undefined) {
      this.archive(open, nowMs, config);
      this.#open.delete(key);
    }
    this.#detectors.delete(key);
    this.#alarms.delete(alarmsKeyOf(calibrationId, "shadow"));
    this.#tests.delete(testsKeyOf(calibrationId, "shadow"));
    return open !== undefined;
  }

  forgetIdleDetectors(nowMs: number): void {
    this.#detectors.forgetIdleSince(nowMs - DETECTOR_IDLE_RETENTION_MS);
  }
}
