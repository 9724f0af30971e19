/**
 * Shadow calibrations: a stored, unserved calibration of a gate evaluated on mirrored live traffic. Adding, re-rating
 * or removing one appends a `shadow_added` / `shadow_changed` / `shadow_removed` event to the gate's activation log
 * (`details` carry the sample rate), so it is pushed like every change; the gate's shadow set is the log read in order.
 * A rate change keeps the shadow's `since_seq` (its `shadow_added` event), so its evidence so far goes on counting: the
 * mirrored queries before and after are both a keyed sample of the same traffic.
 * Live evidence: the gate's monitor counts a shadow's batches apart from the served traffic (they never raise the
 * gate's alerts) and the served traffic since the shadow's first batch (gate-monitor/live-evidence.ts); the list reads
 * the live decisions (monitoring/live-decision.ts) from those counts.
 */
import { type ActivationEvent, commitActivation } from "../calibrations/activation";
import { expectationOf } from "../calibrations/expectation";
import { gateEventBody, PENDING_SINCE_SEQ, servedGate, servedThreshold, withHeads, withSeq } from "../calibrations/gate-event";
import { logPages, logPagesNewestFirst } from "../calibrations/log-pages";
import { currentOf } from "../calibrations/store";
import {
  type Activation,
  type GateEvent,
  type GateEventKind,
  isCalibrationChange,
  MAX_SHADOWS_PER_GATE,
  MIN_PROMOTION_QUERIES,
  type ServedShadow,
  type ShadowChanged,
  type ShadowList,
  type StoredCalibration,
} from "../contract";
import { liveDecision, liveSide, targetSide } from "../monitoring/live-decision";
import { shadowKey, shadowPrefixes, versusKey } from "../monitoring/monitor-contract";
import { AppError } from "../platform/errors";
import { shownId } from "../platform/format";
import { newId } from "../platform/ids";
import { DEFAULT_SHIFT_TOLERANCE } from "../platform/limits";
import type { PromotionDeps } from "./deps";

interface ShadowEntry {
  readonly calibration_id: string;
  readonly sample_rate: number;
  readonly since_seq: number;
  readonly since: string;
}

/**
 * The shadow set after a gate's log, oldest event first: each shadow as added, with its latest sample rate. `set` is the
 * set after the rows before `events` (a log read page by page folds each page into it).
 */
export function shadowSet(events: readonly GateEvent[], set = new Map<string, ShadowEntry>()): ShadowEntry[] {
  for (const e of events) {
    const rate = Number(e.details?.sample_rate ?? 0);
    if (e.kind === "shadow_added") set.set(e.calibration_id, { calibration_id: e.calibration_id, sample_rate: rate, since_seq: e.seq, since: e.at });
    else if (e.kind === "shadow_changed") {
      const s = set.get(e.calibration_id);
      if (s) set.set(e.calibration_id, { ...s, sample_rate: rate });
    } else if (e.kind === "shadow_removed" || isCalibrationChange(e.kind) || e.kind === "promotion_started") set.delete(e.calibration_id);
  }
  return [...set.values()];
}

const servedShadow = (c: StoredCalibration, s: ShadowEntry): ServedShadow => ({
  ...servedGate(c),
  sample_rate: s.sample_rate,
  since_seq: s.since_seq,
});

/** The shadow set after the gate's whole log, read a page at a time. */
async function shadowSetOf(gateId: string, deps: PromotionDeps): Promise<ShadowEntry[]> {
  const set = new Map<string, ShadowEntry>();
  for await (const page of logPages(deps.calibrations, gateId)) shadowSet(page, set);
  return [...set.values()];
}

async function shadowsOf(gateId: string, deps: PromotionDeps): Promise<ServedShadow[]> {
  const set = await shadowSetOf(gateId, deps);
  const cals = await Promise.all(set.map((s) => deps.calibrations.get(s.calibration_id)));
  return set.flatMap((s, i) => (cals[i] ? [servedShadow(cals[i]!, s)] : []));
}

/** What a change does to a calibration's place in its gate's shadow set. */
export type ShadowChange =
  | { readonly kind: "add"; readonly sampleRate: number }
  | { readonly kind: "rate"; readonly sampleRate: number }
  | { readonly kind: "remove" };

const EVENT_KIND = { add: "shadow_added", rate: "shadow_changed", remove: "shadow_removed" } as const satisfies Record<
  ShadowChange["kind"],
  GateEventKind
>;

/** A shadow event's details: the sample rate (none for a removal), and the digest of the keyed request that made it. */
function detailsOf(change: ShadowChange, request: string | null): Record<string, unknown> | null {
  const rate = change.kind === "remove" ? {} : { sample_rate: change.sampleRate };
  return request === null ? (change.kind === "remove" ? null : rate) : { ...rate, request };
}

/**
 * Adds a calibration to its gate's shadow set, changes its sample rate, or removes it. `request`: the digest of a keyed
 * request (idempotent.ts), recorded in the event's `details` so that its retry finds it (shadowChangedBy).
 */
export async function changeShadow(
  calibrationId: string,
  change: ShadowChange,
  actor: string,
  reason: string | null,
  deps: PromotionDeps,
  request: string | null = null,
): Promise<ShadowChanged> {
  const c = await deps.calibrations.get(calibrationId);
  if (c === null) throw new AppError("not_found", `calibration ${calibrationId} does not exist`);
  const gate = await deps.calibrations.gate(c.gate_id);
  if (gate === null) throw new TypeError(`calibration ${c.id} names gate ${c.gate_id}, which does not exist`);
  const seq = await commitActivation(c.gate_id, deps, async ({ rows, headSeq, heads }) => {
    const current = currentOf(rows);
    const inShadow = await shadowsOf(c.gate_id, deps);
    const mine = inShadow.find((s) => s.calibration_id === c.id);
    switch (change.kind) {
      case "add":
        // Clients learn a gate's shadows from its served threshold, and a shadow is compared with the active gate: on a
        // gate that serves nothing its event would carry no served state, so the shadow would be listed but never
        // served, and its batches refused, even after a later activation.
        if (current === null)
          throw new AppError(
            "conflict",
            `the gate of calibration ${c.id} serves no calibration yet: activate one before evaluating another in shadow`,
          );
        if (rows.some((r) => r.calibration_id === c.id))
          throw new AppError("conflict", `calibration ${c.id} is served (active): only an unserved calibration can be a shadow`);
        if (mine)
          throw new AppError(
            "conflict",
            `calibration ${c.id} is already a shadow of its gate (sample rate ${mine.sample_rate}): PATCH /v1/calibrations/${c.id}/shadow changes its rate`,
          );
        // A promotion's candidate is served to its step's share: mirroring it too would put it in two places, and every
        // event of the promotion drops it from the served shadow set (event-log.ts appendEvent) while the log keeps it.
        if ((await deps.promotions.open(c.gate_id))?.candidate_calibration_id === c.id)
          throw new AppError("conflict", `calibration ${c.id} is the candidate of the gate's open promotion: it cannot be a shadow until that ends`);
        if (inShadow.length >= MAX_SHADOWS_PER_GATE)
          throw new AppError("conflict", `the gate already has ${MAX_SHADOWS_PER_GATE} shadows (MAX_SHADOWS_PER_GATE): remove one first`);
        break;
      case "rate":
      case "remove":
        if (!mine) throw new AppError("conflict", `calibration ${c.id} is not a shadow of its gate`);
        break;
      default:
        return ((x: never): never => {
          throw new TypeError(`unknown shadow change ${JSON.stringify(x)}`);
        })(change);
    }
    const control = current ? await deps.calibrations.get(current.calibration_id) : null;
    const at = deps.now().toISOString();
    const kept = heads.shadows.filter((s) => s.calibration_id !== c.id);
    const headOf = heads.shadows.find((s) => s.calibration_id === c.id);
    const shadows =
      change.kind === "remove"
        ? kept
        : [
            ...kept,
            // a rate change keeps the shadow's since_seq: its evidence is keyed by it (observations report it)
            servedShadow(c, {
              calibration_id: c.id,
              sample_rate: change.sampleRate,
              since_seq: change.kind === "rate" ? (headOf?.since_seq ?? mine!.since_seq) : PENDING_SINCE_SEQ,
              since: at,
            }),
          ];
    const activation: Activation = {
      id: newId("act", deps.now(), deps.random()),
      gate_id: c.gate_id,
      index_version: c.index_version,
      calibration_id: c.id,
      previous_calibration_id: current?.calibration_id ?? null,
      activated_at: at,
      actor,
      reason,
    };
    const event = gateEventBody({
      gateId: c.gate_id,
      kind: EVENT_KIND[change.kind],
      prevSeq: headSeq,
      at,
      actor,
      reason,
      calibrationId: c.id,
      served: control && current ? withHeads(servedThreshold(gate, control, current.activated_at), { rollout: heads.rollout, shadows }) : null,
      details: detailsOf(change, request),
    });
    const written = await deps.calibrations.append({ activation, event }, headSeq);
    if (written === null) return null;
    const activated: ActivationEvent = { calibration: c, shift: null, activation, event: withSeq(event, written) };
    return { result: written, activated, warnings: [] };
  });
  // A removed shadow's evidence goes with it (a later stint in shadow starts afresh anyway). A failure is logged: the
  // removal stands, and the monitor forgets rows idle for EVIDENCE_IDLE_RETENTION_MS.
  if (change.kind === "remove")
    await deps.monitor.forgetEvidence(c.gate_id, shadowPrefixes(c.id)).catch((e: unknown) => {
      console.error(`deleting the evidence of shadow ${c.id} failed; it expires when idle`, e);
    });
  return { gate_id: c.gate_id, calibration_id: c.id, seq, shadows: await shadowsOf(c.gate_id, deps) };
}

/**
 * The answer of the shadow change `change` of calibration `calibrationId` made by the keyed request whose digest is
 * `request`, when its event is in the gate's log (the request committed it, then died before completing its key); null
 * when there is none. The shadow set is the gate's as it is now.
 */
export async function shadowChangedBy(
  calibrationId: string,
  change: ShadowChange["kind"],
  request: string,
  deps: PromotionDeps,
): Promise<ShadowChanged | null> {
  const c = await deps.calibrations.get(calibrationId);
  if (c === null) return null;
  // The retry of a request comes soon after it: its row is among the newest, so the log is read from there back.
  let mine: GateEvent | undefined;
  for await (const page of logPagesNewestFirst(deps.calibrations, c.gate_id)) {
    mine = page.find((e) => e.kind === EVENT_KIND[change] && e.calibration_id === c.id && e.details?.request === request);
    if (mine !== undefined) break;
  }
  if (mine === undefined) return null;
  return { gate_id: c.gate_id, calibration_id: c.id, seq: mine.seq, shadows: await shadowsOf(c.gate_id, deps) };
}

/** Live queries a shadow's decisions are tightest at (the anytime-valid sequence's tuning point: live-decision.ts). */
const SHADOW_PLANNED_QUERIES = MIN_PROMOTION_QUERIES;

/** GET /v1/gates/{gate_id}/shadows. */
export async function listShadows(gateId: string, deps: PromotionDeps): Promise<ShadowList> {
  if ((await deps.calibrations.gate(gateId)) === null) throw new AppError("not_found", `gate ${shownId(gateId)} does not exist`);
  const [set, state, evidence, monitor] = await Promise.all([
    shadowSetOf(gateId, deps),
    deps.calibrations.gateState(gateId),
    deps.monitor.evidence(gateId),
    deps.monitor.status(gateId, deps.now().getTime(), deps.drift, false),
  ]);
  // A shadow's batches run through a drift window of its own calibration, exactly as the served one's (never alerting).
  // Only its mirrored traffic's window: a calibration may also have a served one (a rolled-back candidate, a replaced
  // calibration put in shadow), which is not the shadow's. `drift` is GET /v1/monitor's Window: the monitor's traffic
  // field (whose window it is) is not part of it.
  const windows = new Map(monitor.windows.filter((w) => w.traffic === "shadow").map(({ traffic: _traffic, ...w }) => [w.calibration_id, w] as const));
  const cals = await Promise.all(set.map((s) => deps.calibrations.get(s.calibration_id)));
  return {
    gate_id: gateId,
    active_calibration_id: currentOf(state.rows)?.calibration_id ?? null,
    shadows: set.flatMap((s, i) => {
      const c = cals[i];
      if (!c) return [];
      const tol = c.shift_tolerance ?? DEFAULT_SHIFT_TOLERANCE;
      // Keyed by the shadow_added event: evidence from an earlier stint in shadow is not this one's.
      const shadowSide = evidence[shadowKey(c.id, s.since_seq)] ?? null;
      const shadowSums = shadowSide?.sums ?? null;
      const live = shadowSums ? liveSide(shadowSums) : null;
      const versus = evidence[versusKey(c.id, s.since_seq)]?.sums ?? null;
      // A guarded shadow's target is taken for its mirrored queries' own sizes (live-decision.ts targetSide).
      const target = targetSide(expectationOf(c), shadowSide);
      return [
        {
          calibration_id: c.id,
          index_version: c.index_version,
          sample_rate: s.sample_rate,
          since: s.since,
          since_seq: s.since_seq,
          queries: shadowSums?.queries ?? 0,
          drop_rate: live?.rate ?? null,
          expected_drop_rate: c.expected_drop_rate,
          target_drop_rate: target.rate,
          vs_target: liveDecision(target, live, tol, SHADOW_PLANNED_QUERIES),
          vs_active: liveDecision(versus ? liveSide(versus) : null, live, tol, SHADOW_PLANNED_QUERIES),
          drift: windows.get(c.id) ?? null,
        },
      ];
    }),
  };
}
