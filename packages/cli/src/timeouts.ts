/**
 * How long the CLI waits for one HTTP answer (`--timeout SECONDS` overrides it). A calibrate uploads a whole score file
 * that the server fits before it answers; every other command reads or changes one small record.
 */
import type { CommandName } from "./command-flags";

/**
 * calibrate's default: an upload near the server's body limit on a slow uplink, plus the server's fit of a million
 * scores, takes minutes; a timeout that fires first only sends the same upload again (its Idempotency-Key replays it).
 */
export const CALIBRATE_TIMEOUT_SECONDS = 300;

/** Every other command's default: its answer is a small JSON document the server reads from storage. */
export const DEFAULT_TIMEOUT_SECONDS = 30;

/**
 * --timeout's range: a timer counts whole milliseconds in a signed 32-bit integer, and Node fires one set beyond it
 * after 1 ms (a timeout of 3,000,000 s would give up at once), one set below 1 ms not at all.
 */
export const MIN_TIMEOUT_SECONDS = 0.001;
export const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** The per-request timeout `command` uses when --timeout is not given, in seconds. */
export const defaultTimeoutSeconds = (command: CommandName): number =>
  command === "calibrate" ? CALIBRATE_TIMEOUT_SECONDS : DEFAULT_TIMEOUT_SECONDS;

/**
 * `promotion --wait` and `promote --wait`: how often the promotion is read while waiting (a step needs hundreds of
 * queries: minutes at least, so a read every 15 s costs the server nothing and says the outcome within 15 s), and the
 * longest wait (a week: past it a step has paused on its own, `max_step_hours`, by default after 72 h).
 */
export const PROMOTION_WAIT_POLL_MS = 15_000;
export const MAX_PROMOTION_WAIT_SECONDS = 7 * 24 * 3600;
