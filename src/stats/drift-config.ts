/**
 * The drift monitor's settings: the false-alarm budget, the tolerances, the mixture's prior and the change detector's
 * bookkeeping limits (drift-detector.ts, e-detector.ts). Pure data. docs/drift.md says how to choose them.
 */
import { DEFAULT_PRIOR_STRENGTH } from "./mixture-test";

export interface DriftConfig {
  /** Probability of any false alarm per gate and calibration over `horizonQueries` queries (drift-detector.ts). */
  readonly alpha: number;
  /** Business tolerance on the drop rate, in rate units (0.02 = 2 points). */
  readonly tolerance: number;
  /** Tolerance on the empty-context rate, in rate units. */
  readonly emptyContextTolerance: number;
  /** Prior strength of the mixture (pseudo-observations). */
  readonly priorStrength: number;
  /** No alarm before this many queries in the window. */
  readonly minQueries: number;
  /** The change detector (e-detector.ts): a new candidate change point opens every this many queries at least. */
  readonly blockQueries: number;
  /** Most candidate change points kept per calibration. */
  readonly maxStarts: number;
  /** alpha bounds the false-alarm probability over this many queries after a reset of the detector. */
  readonly horizonQueries: number;
  /**
   * The empty-context test is armed only when the calibration's exact upper bound on its own rate exceeds the rate
   * by at most this much: a calibration of too few queries cannot bound it, and a test against a bound near 1 could
   * only ever detect a catastrophe.
   */
  readonly maxEmptyContextBoundExcess: number;
  /**
   * The drop-rate test (and the recall coverage test, coverage-test.ts) is armed only when its calibration margin
   * reaches at most this far from the centre: a calibration so small that its own rate is known only within +-25
   * points has no band that could see anything short of a broken gate, and says so instead of pretending.
   */
  readonly maxCalibrationMargin: number;
}

export const DEFAULT_DRIFT_CONFIG: DriftConfig = {
  alpha: 0.001,
  tolerance: 0.02,
  emptyContextTolerance: 0.02,
  priorStrength: DEFAULT_PRIOR_STRENGTH,
  minQueries: 100,
  blockQueries: 50,
  maxStarts: 48,
  horizonQueries: 1_000_000,
  maxEmptyContextBoundExcess: 0.1,
  maxCalibrationMargin: 0.25,
};
