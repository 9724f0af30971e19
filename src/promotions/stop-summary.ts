/**
 * The sentence of a promotion's pause or rollback alert: which step it stopped in (the share of keyed traffic the
 * candidate had then, not the 0 % a rollback leaves), why, and the numbers of the decision that stopped it, so the
 * alert says why without opening its details. Pure.
 */
import type { Promotion, PromotionStepRecord } from "../contract";
// one decimal, as the alarm sentences write rates: one summary reads one precision
import { countText, percentTenths } from "../platform/format";

const points = (x: number): string => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)} points`;
const num = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);
const obj = (x: unknown): Record<string, unknown> | null => (typeof x === "object" && x !== null ? (x as Record<string, unknown>) : null);

/** ", 95 %: +30.1 points to +44.7 points" from a decision's interval95, or "". */
function intervalText(decision: Record<string, unknown> | null): string {
  const ci = Array.isArray(decision?.interval95) ? (decision.interval95 as unknown[]).map(num) : null;
  return ci !== null && ci[0] != null && ci[1] != null ? `, 95 %: ${points(ci[0])} to ${points(ci[1])}` : "";
}

/** "the candidate arm dropped 59.3 % against 21.9 % on control (+37.4 points, 95 %: +30.1 to +44.7 points)", or "". */
function evidenceText(numbers: Record<string, unknown>): string {
  const parts: string[] = [];
  const cand = num(numbers.candidate_drop_rate);
  const ctl = num(numbers.control_drop_rate);
  const vs = obj(numbers.vs_control);
  const change = num(vs?.change);
  if (cand !== null && ctl !== null) {
    let s = `the candidate arm dropped ${percentTenths(cand)} against ${percentTenths(ctl)} on control`;
    if (change !== null) s += ` (${points(change)}${intervalText(vs)})`;
    parts.push(s);
  } else if (cand !== null) parts.push(`the candidate arm dropped ${percentTenths(cand)}`);
  // A stop on the target names the target read (for a guarded candidate, its expectation for the arm's query sizes).
  const target = obj(numbers.vs_target);
  const off = num(target?.change);
  if (target?.decision === "shifted" && cand !== null && off !== null)
    parts.push(`its target ${percentTenths(cand - off)} (${points(off)}${intervalText(target)})`);
  const cq = num(numbers.candidate_queries);
  const kq = num(numbers.control_queries);
  if (cq !== null && kq !== null) parts.push(`${countText(cq)} candidate and ${countText(kq)} control queries`);
  const alarm = obj(numbers.drift_alarm);
  if (typeof alarm?.summary === "string") parts.push(`drift alarm: ${alarm.summary}`);
  return parts.join("; ");
}

/**
 * `versions`: the index versions of the candidate and of the control it was promoted over, when known ("of cal_… (v2
 * over v1)"): a page that names only calibration ids sends on-call to look them up.
 */
export function promotionStopSummary(
  promotion: Pick<Promotion, "id" | "candidate_calibration_id" | "plan">,
  record: PromotionStepRecord,
  verb: string,
  versions?: { readonly candidate: string; readonly control: string },
): string {
  const share = promotion.plan.steps[record.step];
  const where = `in step ${record.step + 1} of ${promotion.plan.steps.length}${share === undefined ? "" : ` (${share} % of keyed traffic)`}`;
  const evidence = evidenceText(record.numbers);
  // a recalibration of the served version reads as such, not "(v1 over v1)"
  const over =
    versions === undefined
      ? ""
      : versions.candidate === versions.control
        ? ` (${versions.candidate}, over another calibration of ${versions.control})`
        : ` (${versions.candidate} over ${versions.control})`;
  return `promotion ${promotion.id} of ${promotion.candidate_calibration_id}${over} ${verb} ${where}: ${record.cause}${evidence ? `; ${evidence}` : ""}`;
}
