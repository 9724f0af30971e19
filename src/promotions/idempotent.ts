/**
 * Promotion starts, overrides and shadow changes run at most once per Idempotency-Key, through the uploads' mechanism
 * (src/platform/idempotency.ts `once`): the same key and request replay the first answer, the same key with another
 * request is 422 `idempotency_mismatch`, a key whose first request is still running is 409.
 *
 * The crash window: the change commits (the promotion and its `started` audit row, an override's audit row, a shadow's
 * event), then the key is completed. A request that dies in between leaves the change and a key in flight; its retry
 * would otherwise be refused (409 while the claim holds, then the change itself refuses: "a gate with an open
 * promotion", "is paused: it cannot pause", "already a shadow"). So each keyed change records the digest of its request
 * (token name, key, request hash: `request`, REQUEST_DIGEST_HEX hex characters; keyedChange, src/platform/idempotency.ts) with what it wrote, and the retry looks
 * for it (`once`'s recover) before refusing or running again: found, it completes the key and answers the change as it
 * stands now (a straight start whose completion was never written is completed first, as the cron would).
 */
import type { Promotion, PromotionPlanBody, ShadowChanged } from "../contract";
import { keyedChange } from "../platform/idempotency";
import type { PromotionDeps } from "./deps";
import { settleOrLeave } from "./event-log";
import { finishStart, overridePromotion, startPromotion } from "./service";
import { changeShadow, type ShadowChange, shadowChangedBy } from "./shadows";
import { type AdminAction, startOf, unfinishedStart } from "./state-machine";
import { view } from "./view";

/** The promotion a keyed start of `calibrationId` committed (module comment), or null when it stored none. */
export async function startedBy(calibrationId: string, request: string, deps: PromotionDeps): Promise<Promotion | null> {
  const candidate = await deps.calibrations.get(calibrationId);
  if (candidate === null) return null;
  const row = await deps.promotions.startedBy(candidate.gate_id, candidate.id, request);
  if (row === null) return null;
  const steps = await deps.promotions.steps(row.id);
  // Its event, when the dead request never wrote it and nothing followed it (else the cron's repair writes it).
  if (steps.length === 1 && steps[0]!.seq === null) await settleOrLeave(row.id, steps[0]!, deps);
  if (startOf(row.plan).kind === "completed" && unfinishedStart(row)) await finishStart(row, deps);
  return view((await deps.promotions.get(row.id)) ?? row, deps);
}

/** The promotion after the keyed override of promotion `id` whose audit row carries `request`, or null. */
export async function overriddenBy(id: string, request: string, deps: PromotionDeps): Promise<Promotion | null> {
  const row = await deps.promotions.get(id);
  if (row === null) return null;
  const steps = await deps.promotions.steps(id);
  const mine = steps.find((s) => s.numbers.request === request);
  if (mine === undefined) return null;
  if (mine.seq === null && steps.at(-1) === mine) await settleOrLeave(row.id, mine, deps);
  return view((await deps.promotions.get(id)) ?? row, deps);
}

/** A keyed request's body as its hash reads it: the validated body (defaults filled in), or null without one. */
const bodyText = (body: unknown): string => JSON.stringify(body ?? null);

/** POST /v1/calibrations/{id}/promote, once per Idempotency-Key. */
export const keyedStart = (deps: PromotionDeps, actor: string, key: string | undefined, calibrationId: string, body: PromotionPlanBody) =>
  keyedChange(
    deps,
    actor,
    key,
    ["promote", calibrationId, bodyText(body)],
    201,
    (request) => startPromotion(calibrationId, body, actor, deps, request),
    (request) => startedBy(calibrationId, request, deps),
  );

/** POST /v1/promotions/{id}/{action}, once per Idempotency-Key. */
export const keyedOverride = (
  deps: PromotionDeps,
  actor: string,
  key: string | undefined,
  id: string,
  action: AdminAction,
  body: { readonly reason?: string | undefined } | undefined,
) =>
  keyedChange(
    deps,
    actor,
    key,
    [action, id, bodyText(body)],
    200,
    (request) => overridePromotion(id, action, actor, body?.reason ?? null, deps, request),
    (request) => overriddenBy(id, request, deps),
  );

/** POST, PATCH or DELETE /v1/calibrations/{id}/shadow, once per Idempotency-Key. */
export const keyedShadowChange = (
  deps: PromotionDeps,
  actor: string,
  key: string | undefined,
  calibrationId: string,
  change: ShadowChange,
  body: { readonly reason?: string | undefined } | undefined,
) =>
  keyedChange<200, ShadowChanged>(
    deps,
    actor,
    key,
    [`shadow_${change.kind}`, calibrationId, bodyText(body)],
    200,
    (request) => changeShadow(calibrationId, change, actor, body?.reason ?? null, deps, request),
    (request) => shadowChangedBy(calibrationId, change.kind, request, deps),
  );
