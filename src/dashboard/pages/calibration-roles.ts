/**
 * How the gate page names a calibration so that no two read alike: its index version, with the end of its id when
 * another calibration shown beside it has the same version (a rebuild re-calibrated on the same index, or the old
 * absolute threshold carried onto it), and what it is now (served, in shadow, a promotion's candidate, rolled back,
 * not served) read from the gate's current calibration, its shadow set, its promotions and its activation log; on the
 * production chart also what it was during the range shown (the roles of its monitor windows there). A monitor window's
 * role is not what the calibration is now: v2's shadow window stays open for the rest of its day after v2 is promoted.
 */
import type { Activation, Calibration, Promotion, WindowRole } from "../../contract";
import type { WindowPoint } from "../data/monitor-view";

/** The end of a calibration id that tells calibrations of one index version apart on the page. */
export const SHORT_ID_LENGTH = 6;

export const shortId = (id: string): string => id.slice(-SHORT_ID_LENGTH);

type Named = { readonly index_version: string } & ({ readonly id: string } | { readonly calibration_id: string });

const idOf = (c: Named): string => ("id" in c ? c.id : c.calibration_id);

/** The end of the calibration's id when another of `shown` (a different calibration) has its index version, else null. */
function twinSuffix(c: Named, shown: readonly Named[]): string | null {
  return shown.some((o) => idOf(o) !== idOf(c) && o.index_version === c.index_version) ? shortId(idOf(c)) : null;
}

/** "v2", or "v2 (c36250)" when another of `shown` (a different calibration) has the same index version. */
export function versionName(c: Named, shown: readonly Named[]): string {
  const suffix = twinSuffix(c, shown);
  return suffix === null ? c.index_version : `${c.index_version} (${suffix})`;
}

/** The version name with words in its parentheses: "v2 (served)", "v2 (c36250, served)". */
export function versionWith(c: Named, shown: readonly Named[], words: string): string {
  const suffix = twinSuffix(c, shown);
  return `${c.index_version} (${suffix === null ? "" : `${suffix}, `}${words})`;
}

/** What the gate page knows of the gate's state, for naming its calibrations (fields a partial view may lack). */
export interface RoleFacts {
  readonly calibrations?: readonly Pick<Calibration, "id" | "current" | "created_at">[];
  /** Newest first. */
  readonly activations?: readonly Activation[];
  /** Newest first. */
  readonly promotions?: readonly Promotion[];
  /** The calibrations in the gate's shadow set now. */
  readonly shadows?: readonly string[];
}

/** What a calibration is now. */
export type NowRole = "served" | "shadow" | "candidate" | "candidate_paused" | "candidate_rolled_back" | "rolled_back" | "not_served";

export const NOW_WORDS: Record<NowRole, string> = {
  served: "served",
  shadow: "shadow",
  candidate: "promotion candidate",
  candidate_paused: "promotion candidate, paused",
  candidate_rolled_back: "promotion candidate, rolled back",
  rolled_back: "rolled back",
  not_served: "not served",
};

/**
 * Whether the activation that replaced the calibration after its latest activation put back the one that activation
 * had replaced (an activation rollback, as the walk-through's step 4). `activations` come newest first.
 */
function rolledBackByActivation(id: string, activations: readonly Activation[]): boolean {
  const mine = activations.findIndex((a) => a.calibration_id === id);
  if (mine < 0) return false;
  const replaced = activations.slice(0, mine).findLast((a) => a.previous_calibration_id === id && a.calibration_id !== id);
  return replaced !== undefined && replaced.calibration_id === activations[mine]!.previous_calibration_id;
}

/** What the calibration is now, from the gate's state (not from its monitor windows). */
export function nowRole(facts: RoleFacts, id: string): NowRole {
  if (facts.calibrations?.find((c) => c.id === id)?.current === true) return "served";
  const promotion = facts.promotions?.find((p) => p.candidate_calibration_id === id);
  if (promotion?.state === "running") return "candidate";
  if (promotion?.state === "paused") return "candidate_paused";
  if (facts.shadows?.includes(id)) return "shadow";
  if (promotion?.state === "rolled_back") return "candidate_rolled_back";
  if (rolledBackByActivation(id, facts.activations ?? [])) return "rolled_back";
  return "not_served";
}

/** The window role whose detector watches the calibration's traffic now, if any. */
export const NOW_WINDOW: Record<NowRole, WindowRole | null> = {
  served: "active",
  shadow: "shadow",
  candidate: "candidate",
  candidate_paused: "candidate",
  candidate_rolled_back: null,
  rolled_back: null,
  not_served: null,
};

/** A window role as what the calibration was then. */
const WAS_WORDS: Record<WindowRole, string> = { active: "served", previous: "served", shadow: "shadow", candidate: "promotion candidate" };

/** The words of WAS_WORDS a calibration's role now already says. */
const SAID_NOW: Record<NowRole, readonly string[]> = {
  served: ["served"],
  shadow: ["shadow"],
  candidate: ["promotion candidate"],
  candidate_paused: ["promotion candidate"],
  candidate_rolled_back: ["promotion candidate"],
  rolled_back: [],
  not_served: [],
};

/**
 * What a calibration was within [from, to), in words, by first time: the roles of its monitor windows there, and a
 * promotion's candidate when a step of its promotion falls there (a candidate arm's batches count in the gate's active
 * window, so no window says it); without the ones `now` already says.
 */
export function rolesInRange(
  points: readonly WindowPoint[],
  promotions: readonly Promotion[],
  id: string,
  from: string,
  to: string,
  now: NowRole,
): string[] {
  const seen = [
    ...points
      .filter((p) => p.calibration_id === id && p.started_at < to && p.ends_at > from)
      .map((p) => ({ at: p.started_at, word: WAS_WORDS[p.role] })),
    ...promotions
      .filter((p) => p.candidate_calibration_id === id)
      .flatMap((p) => p.steps.filter((s) => s.at >= from && s.at < to).map((s) => ({ at: s.at, word: "promotion candidate" }))),
  ].sort((a, b) => a.at.localeCompare(b.at));
  return [...new Set(seen.map((s) => s.word))].filter((w) => !SAID_NOW[now].includes(w));
}

/**
 * A calibration as the production chart names it: "v2 (c36250, served; earlier in this range: shadow, promotion
 * candidate)", "v2 (9643c0, promotion candidate, rolled back)", "v1 (not served; earlier in this range: served)".
 */
export function seriesLabel(c: Named, shown: readonly Named[], now: NowRole, earlier: readonly string[]): string {
  return versionWith(c, shown, `${NOW_WORDS[now]}${earlier.length > 0 ? `; earlier in this range: ${earlier.join(", ")}` : ""}`);
}
