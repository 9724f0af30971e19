/**
 * `scoregate monitor`'s lines for the coverage tests of recall calibrations (GET /v1/monitor's `recall`, fed by judged
 * production queries, POST /v1/judgments): the coverage observed over the judged queries against the level the
 * calibration guarantees and the lowest one the test tolerates, its 95 % confidence sequence, whether it can alarm or
 * has, its evidence against the alarm level and, while the gate's recall_drift alarm stands, the numbers of the test
 * that alarmed (the test restarts at each alarm, so its own numbers are the judged queries since). Every number goes
 * through ./format; the words follow the server's recall_drift sentence.
 */
import type { AlarmedCoverage, MonitorCoverage } from "../../../src/contract";
import { count, fixed, percent } from "./format";

/** Decimals of a log evidence and its alarm level ("ln E 17.6 of 7.6"), as the server's alert sentence writes them. */
export const LOG_EVIDENCE_DECIMALS = 1;

/** "ln E 17.6 of 7.6": the evidence against the level at which the test alarms. */
const evidence = (t: Pick<AlarmedCoverage, "log_evidence" | "log_threshold">): string =>
  `ln E ${fixed(t.log_evidence, LOG_EVIDENCE_DECIMALS)} of ${fixed(t.log_threshold, LOG_EVIDENCE_DECIMALS)}`;

/** "95 %: 44.7 % to 99.8 %" */
const sequence = (cs: readonly [number, number]): string => `95 %: ${percent(cs[0])} to ${percent(cs[1])}`;

const queriesWord = (n: number): string => (n === 1 ? "query" : "queries");

/** Whether the test can alarm, and whether it has on its current numbers. */
function testState(r: MonitorCoverage): string {
  if (!r.armed)
    return r.not_armed_reason === "calibration_too_small"
      ? "not armed: the calibration is too small to bound its own coverage, so the test never alarms"
      : "not armed";
  return r.alarm ? "alarm" : "watching";
}

/** The test's coverage, or that it has no judged query to read yet. */
function coverageWords(r: MonitorCoverage): string {
  if (r.queries === 0) return "no judged query with a relevant candidate yet";
  return `coverage ${percent(r.observed)} over ${count(r.queries)} judged ${queriesWord(r.queries)} (${sequence(r.confidence_sequence_95)})`;
}

/**
 * One coverage test in lines, indented as the monitor's windows: what the calibration guarantees and the lowest
 * coverage the test tolerates; while the gate's recall_drift alarm stands, the test that alarmed as it stood then; and
 * the test since it began or last restarted, with its state and the judged queries it does not test.
 */
function testLines(r: MonitorCoverage): string[] {
  const pad = `  ${"".padEnd(10)} `;
  const without = r.queries_without_relevant;
  const untested = without === 0 ? "" : `; ${count(without)} judged ${queriesWord(without)} without a relevant candidate (counted, not tested)`;
  const a = r.alarmed ?? null;
  return [
    `  ${r.role.padEnd(10)} ${r.calibration_id} (${r.index_version}): guaranteed ${percent(r.expected)} (target ${percent(r.target)}, ${r.coverage}), tolerated down to ${percent(r.tolerated)}, ${count(r.alarms)} alarm(s)`,
    ...(a === null
      ? []
      : [
          `${pad}alarmed at ${a.at}: coverage ${percent(a.observed)} over ${count(a.queries)} judged ${queriesWord(a.queries)} since ${a.since} (${sequence(a.confidence_sequence_95)}), evidence ${evidence(a)}; the test restarted then`,
        ]),
    `${pad}since ${r.since}: ${coverageWords(r)}, evidence ${evidence(r)}, ${testState(r)}${untested}`,
  ];
}

/** The coverage tests' section of the monitor, none when the gate's monitor holds no coverage test. */
export function coverageLines(tests: readonly MonitorCoverage[]): string[] {
  if (tests.length === 0) return [];
  return ["Coverage tests (recall, on judged queries; each restarts at its alarm):", ...tests.flatMap(testLines)];
}
