/**
 * What a gate serves besides its current calibration, in words, for `threshold` and `gates`: an open promotion's split
 * (GET /v1/threshold's `rollout`: the candidate a share of keyed requests is served, with its own threshold, guards
 * and abstention cutoff) and the gate's shadows (`shadows`: calibrations evaluated on mirrored queries, never served).
 * Every number goes through ./format.
 */
import type { Guards, ServedRollout, ServedShadow, ThresholdResponse } from "../../../src/contract";
import { num as number, percent } from "./format";
import { keepWords } from "./guard-lines";

/** The served rule's guards and abstention cutoff in one phrase, or null when it has neither. */
export function ruleWords(r: { guards: Guards; abstain_below?: number | null | undefined }): string | null {
  const parts = [keepWords(r.guards), r.abstain_below != null ? `abstains below ${number(r.abstain_below)}` : null].filter((x) => x !== null);
  return parts.length === 0 ? null : parts.join("; ");
}

/** A rollout's share of keyed traffic: percent_bp 5000 is "50.0 %". */
export const rolloutShare = (r: Pick<ServedRollout, "percent_bp">): string => percent(r.percent_bp / 10_000);

/** "prm_x running, step 2": the step one-based, as `scoregate promotion` numbers it. */
const promotionWords = (r: ServedRollout): string => `${r.promotion_id} ${r.state}, step ${r.step + 1}`;

/**
 * `scoregate threshold`'s lines for an open promotion: the split, then the candidate's gate as clients apply it to
 * their share (its threshold, guards and abstention cutoff), indented under it.
 */
export function rolloutLines(r: ServedRollout): string[] {
  const c = r.candidate;
  return [
    `  promotion     ${promotionWords(r)}: ${rolloutShare(r)} of keyed requests are served the candidate below; the rest, and requests without a key, the lines above`,
    `    candidate   ${c.calibration_id} (index version ${c.index_version}): threshold ${number(c.threshold)}, expected drop ${percent(c.expected_drop_rate)}`,
    ...(keepWords(c.guards) !== null ? [`    guards      ${keepWords(c.guards)}`] : []),
    ...(c.abstain_below !== null ? [`    abstention  a query abstains when its top score is below ${number(c.abstain_below)}`] : []),
  ];
}

/** One shadow in a phrase: "cal_x (index version v3), 10.0 % of queries mirrored, threshold 0.3". */
function shadowWords(s: ServedShadow): string {
  const rule = ruleWords(s);
  return `${s.calibration_id} (index version ${s.index_version}), ${percent(s.sample_rate)} of queries mirrored, threshold ${number(s.threshold)}, expected drop ${percent(s.expected_drop_rate)}${rule === null ? "" : `; ${rule}`}`;
}

/** `scoregate threshold`'s line per shadow (none without shadows). */
export function shadowLines(shadows: readonly ServedShadow[] | undefined): string[] {
  return (shadows ?? []).map((s) => `  shadow        ${shadowWords(s)}; never served`);
}

/**
 * `scoregate gates`' lines for a gate's current rule, split and shadows, under its versions' rows (their labels in the
 * version column): guards and abstention of the current calibration, the open promotion, each shadow.
 */
export function gateStateLines(
  t: Pick<ThresholdResponse, "guards" | "abstain_below" | "rollout" | "shadows" | "index_version">,
  nameVersion = false,
): string[] {
  const rule = ruleWords(t);
  const r = t.rollout ?? null;
  // under a list of the gate's active versions (`gates`), the rule names the one it belongs to: the current calibration's
  const whose = nameVersion ? `${t.index_version} (current): ` : "";
  return [
    ...(rule === null ? [] : [`  ${"guards".padEnd(12)} ${whose}${rule}`]),
    ...(r === null
      ? []
      : [
          `  ${"promotion".padEnd(12)} ${promotionWords(r)}: ${rolloutShare(r)} of keyed requests on ${r.candidate.calibration_id} (index version ${r.candidate.index_version}), threshold ${number(r.candidate.threshold)}${ruleWords(r.candidate) === null ? "" : `; ${ruleWords(r.candidate)}`}`,
        ]),
    ...(t.shadows ?? []).map((s) => `  ${"shadow".padEnd(12)} ${shadowWords(s)}`),
  ];
}
