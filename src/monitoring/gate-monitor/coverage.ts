/**
 * The monitor's coverage tests: the running sums of each recall calibration's judged production queries since its
 * last alarm (`coverage`), forgotten after DETECTOR_IDLE_RETENTION_MS without judgments. The test itself is pure
 * (../coverage-window.ts); this module stores it. Owns the table `coverage` (migrations.ts).
 */
import { DETECTOR_IDLE_RETENTION_MS } from "../../platform/limits";
import type { CoverageState } from "../coverage-window";
import { StateTable } from "./state-table";

export class CoverageTests {
  readonly #states: StateTable<CoverageState>;

  constructor(sql: SqlStorage) {
    this.#states = new StateTable<CoverageState>(sql, "coverage");
  }

  get(calibrationId: string): CoverageState | undefined {
    return this.#states.get(calibrationId);
  }

  /** Every test, the most recently judged first. */
  all(): CoverageState[] {
    return this.#states.all();
  }

  save(s: CoverageState, nowMs: number): void {
    this.#states.put(s.calibration.id, nowMs, s);
  }

  forgetIdle(nowMs: number): void {
    this.#states.forgetIdleSince(nowMs - DETECTOR_IDLE_RETENTION_MS);
  }
}
