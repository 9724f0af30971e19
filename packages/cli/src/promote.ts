/**
 * `scoregate promote`: start a guarded promotion of a stored calibration (progressive in steps, or straight), or act
 * on the open promotion (--pause, --resume, --advance, --rollback). `scoregate promotion`: read one as it stands.
 * Each prints the promotion; --json prints it as JSON.
 */
import { randomUUID } from "node:crypto";
import type { RouteName } from "../../../src/contract";
import {
  type Calibration,
  DEFAULT_PROMOTION_QUERIES,
  MAX_PAGE_SIZE,
  MAX_PROMOTION_QUERIES,
  MAX_PROMOTION_STEPS,
  MAX_STEP_HOURS,
  MIN_PROMOTION_QUERIES,
  type Promotion,
  type PromotionList,
} from "../../../src/contract";
import { countFlag, durationFlag, num, oneId, oneOf, usage } from "./args";
import { RETRY_DELAY_MS, UPLOAD_ATTEMPTS } from "./calibrate";
import { PROMOTE_OVERRIDES as OVERRIDES } from "./command-flags";
import type { Ctx } from "./context";
import { EXIT } from "./decision";
import { count, pointWidth, prose } from "./format";
import { type ApiResponse, CliError, keyStillRunning } from "./http";
import { armsText, TransitionNumbers } from "./live";
import { gateFlagWords } from "./suggest";
import { MAX_PROMOTION_WAIT_SECONDS, PROMOTION_WAIT_POLL_MS } from "./timeouts";

/** Attempts of one change (a start, an override, a shadow change): the first and its retries, as many as an upload's. */
export const CHANGE_ATTEMPTS = UPLOAD_ATTEMPTS;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Failures a change is sent again for, under its key: no answer (the server may have applied it: the key makes the
 * retry answer what it did), 429, 5xx, and the 409 of a key whose first request is still running (`keyStillRunning`:
 * 409 idempotency_in_progress, or an older server's conflict naming the Idempotency-Key). Not another 409: "the gate
 * already has an open promotion", "is paused: it cannot pause" are the state's answer, and a retry would get it again.
 */
const retryable = (e: CliError): boolean =>
  e.server === undefined
    ? e.code === "timeout" || e.code === "unreachable"
    : e.server.status === 429 || e.server.status >= 500 || keyStillRunning(e.server);

/**
 * Sends a change with an Idempotency-Key of this run (a new one per run unless --idempotency-key gives one, as
 * `scoregate calibrate` does), and sends it
 * again with the same key after a failure `retryable` accepts, at most CHANGE_ATTEMPTS times: a retry of a change the
 * server applied answers that change, never a second start or a 409. `check` says where to see whether it was applied (the last failure's hint).
 */
export async function sendChange<T>(
  c: Ctx,
  route: RouteName,
  init: { params: Record<string, string>; body: unknown; okStatuses?: number[] },
  check: string,
): Promise<ApiResponse<T>> {
  // promote --idempotency-key K: a pipeline's rerun of the same change answers what the first run did.
  const key = c.v["idempotency-key"] ?? randomUUID();
  const headers = { "Content-Type": "application/json", "Idempotency-Key": key };
  // whether any attempt may have reached the server (and been applied under the key)
  let reached = false;
  for (let attempts = 1; ; attempts++) {
    try {
      const res = await c.api().request<T>(route, { ...init, body: JSON.stringify(init.body), headers });
      if (attempts > 1 && res.headers.get("idempotent-replayed") === "true")
        c.warn(`sent ${attempts} times with Idempotency-Key ${key}: applied once; this is the answer of the attempt that applied it`);
      return res;
    } catch (e) {
      if (!(e instanceof CliError) || !retryable(e)) throw e;
      reached ||= !e.notSent;
      if (attempts >= CHANGE_ATTEMPTS)
        throw new CliError(
          e.message,
          e.exitCode,
          e.code,
          [
            ...e.hints,
            reached
              ? `sent ${attempts} times with Idempotency-Key ${key}: the server may have applied it: check (${check}) before running it again`
              : `tried ${attempts} times, and no attempt reached the server: nothing was applied; run the command again once the server answers`,
          ],
          e.server,
          e.notSent,
        );
      await (c.io.sleep ?? sleep)(RETRY_DELAY_MS * attempts);
    }
  }
}

type Override = (typeof OVERRIDES)[number];
const OVERRIDE_ROUTES = {
  pause: "pausePromotion",
  resume: "resumePromotion",
  advance: "advancePromotion",
  rollback: "rollbackPromotion",
} as const satisfies Record<Override, string>;

/**
 * `--steps 10,50,100` as whole percentages, checked here as the server checks a plan (strictly increasing, 1 to 100,
 * ending with 100, at most MAX_PROMOTION_STEPS), so that a refusal names the value at fault.
 */
function steps(raw: string | undefined, straight: boolean): number[] | undefined {
  if (straight) {
    if (raw !== undefined) throw usage("--straight and --steps cannot be combined: --straight is --steps 100");
    return [100];
  }
  if (raw === undefined) return undefined;
  const bad = (why: string) => usage(`--steps ${JSON.stringify(raw)} is not valid: ${why}`, "e.g. --steps 10,50,100 (or --straight: --steps 100)");
  const parts = raw.split(",").map((s) => s.trim());
  const notWhole = parts.find((p) => !/^\d+$/u.test(p));
  if (notWhole !== undefined)
    throw bad(
      `${notWhole === "" ? "an empty step" : JSON.stringify(notWhole)} is not a whole percentage; give whole percentages separated by commas`,
    );
  const s = parts.map(Number);
  if (s.length > MAX_PROMOTION_STEPS) throw bad(`${s.length} steps, at most ${MAX_PROMOTION_STEPS}`);
  const outside = s.find((p) => p < 1 || p > 100);
  if (outside !== undefined) throw bad(`${outside} is ${outside < 1 ? "below 1" : "above 100"}`);
  const i = s.findIndex((p, j) => j > 0 && p <= s[j - 1]!);
  if (i > 0) throw bad(`${s[i]} does not rise above ${s[i - 1]}: the steps must increase`);
  if (s.at(-1) !== 100) throw bad(`it ends at ${s.at(-1)}: the last step must be 100 (everyone)`);
  return s;
}

/** What a transition's recorded numbers say beyond its arms: the step that timed out, the activation that superseded it. */
function transitionNumbers(raw: Record<string, unknown>): string {
  const n = TransitionNumbers.safeParse(raw);
  if (!n.success) return "";
  return [
    armsText(n.data),
    n.data.max_step_hours === undefined ? "" : `no decision within ${n.data.max_step_hours} h`,
    n.data.activated === undefined ? "" : `${n.data.activated} was activated`,
  ]
    .filter((x) => x !== "")
    .join("; ");
}

/** The promotion in a few lines: state, split, plan, the running step's evidence, and its audit trail with each transition's numbers. */
export function describePromotion(p: Promotion): string {
  const lines = [
    `Promotion ${p.id}: ${p.candidate_calibration_id} over ${p.control_calibration_id}, ${p.state}, step ${p.step + 1} of ${p.plan.steps.length} (${p.state === "completed" ? "the candidate served to everyone" : `${p.percent} % of keyed traffic on the candidate`})`,
    // a straight plan ([100], --straight) has no step to decide: its queries, tolerance, regression rule and step
    // deadline (stored with defaults) never apply
    p.plan.steps.length === 1
      ? `  plan          straight (steps ${p.plan.steps[0]} %): served to everyone at once, then watched by the gate's drift detector; no step to decide`
      : `  plan          steps ${p.plan.steps.join(" -> ")} %, at least ${count(p.plan.min_queries)} candidate queries a step, tolerance ${pointWidth(p.plan.tolerance)} points, on regression ${p.plan.on_regression}, a step pauses after ${p.plan.max_step_hours} h without a decision`,
  ];
  if (p.evidence !== null) {
    lines.push(`  evidence      ${armsText(p.evidence)}`);
    const alarm = p.evidence.candidate_drift?.alarm;
    if (alarm) lines.push(`  drift alarm   ${alarm.kind} at ${alarm.at}: ${prose(alarm.summary)}`);
  }
  for (const s of p.steps) {
    lines.push(
      `  ${s.at}  ${s.kind.padEnd(11)} ${String(s.percent).padStart(3)} %  ${s.cause} by ${s.actor}${s.reason ? `: ${prose(s.reason)}` : ""}`,
    );
    const numbers = transitionNumbers(s.numbers);
    if (numbers !== "") lines.push(`      ${numbers}`);
  }
  return lines.join("\n");
}

/**
 * The promotion `id` names: itself when it is a promotion id, else the newest promotion whose candidate is the
 * calibration `id`, its open one first (its gate's promotions are newest first; the pages are followed until one
 * matches). A gate has at most one open promotion and nothing newer starts beside it, so the open one is also the newest.
 */
async function promotionOf(c: Ctx, id: string): Promise<{ id: string; state: Promotion["state"] | null }> {
  if (id.startsWith("prm_")) return { id, state: null };
  const cal = await c.api().request<Calibration>("getCalibration", { params: { id } });
  let cursor: string | undefined;
  do {
    const page = await c.api().request<PromotionList>("listGatePromotions", {
      params: { gate_id: cal.body.gate_id },
      query: { limit: MAX_PAGE_SIZE, cursor },
    });
    const mine = page.body.promotions.filter((p) => p.candidate_calibration_id === id);
    const found = mine.find((p) => p.state === "running" || p.state === "paused") ?? mine[0];
    if (found !== undefined) return { id: found.id, state: found.state };
    cursor = page.body.next_cursor ?? undefined;
  } while (cursor !== undefined);
  throw new CliError(`${id} has never been promoted`, EXIT.usage, "usage", ["scoregate promote ID starts a promotion"]);
}

/** The open promotion whose candidate is `calibrationId` (or the promotion with that id). */
async function openPromotion(c: Ctx, id: string): Promise<string> {
  const p = await promotionOf(c, id);
  if (p.state !== null && p.state !== "running" && p.state !== "paused")
    throw new CliError(`${id} has no running or paused promotion (its latest, ${p.id}, is ${p.state})`, EXIT.usage, "usage", [
      "scoregate promote ID starts one",
    ]);
  return p.id;
}

/** --wait SECONDS: undefined without it; a usage error outside 1..MAX_PROMOTION_WAIT_SECONDS. */
const waitFlag = (c: Ctx): number | undefined =>
  durationFlag(
    c.v.wait,
    "--wait",
    (x) => x >= 1 && x <= MAX_PROMOTION_WAIT_SECONDS,
    `seconds from 1 to ${count(MAX_PROMOTION_WAIT_SECONDS)} (a week)`,
  );

/**
 * What a promotion's state says to a pipeline: 0 completed (the candidate is served to everyone), 3 it did not and a
 * person decides (rolled back or superseded, or paused: on a regression, a step's timeout or an admin), 4 still
 * running (undecided when the wait ran out).
 */
function promotionExit(p: Promotion): number {
  if (p.state === "completed") return EXIT.ok;
  return p.state === "running" ? EXIT.inconclusive : EXIT.shifted;
}

/**
 * Reads the promotion every PROMOTION_WAIT_POLL_MS until it is no longer running or `seconds` of waits have passed
 * (the reads' own time comes on top), saying each step it moves to on stderr; the promotion as it ends. `first` is the
 * promotion as a start or an override answered it, or null when it has not been read yet (`scoregate promotion ID
 * --wait`): then `read` reads it at once. Any read that fails for the network or the server (exit 1: a deploy, a blip
 * in a day-long wait, a server still starting when the pipeline waits again), the first one too, is said once and tried
 * again at the next poll; the wait fails with it only when its last read failed.
 */
async function waitForPromotion(
  c: Ctx,
  name: () => string,
  read: () => Promise<Promotion>,
  first: Promotion | null,
  seconds: number,
): Promise<Promotion> {
  let left = seconds * 1000;
  let p = first;
  // the state and step last said (a first read says nothing: the promotion is printed as it ends)
  let said = p === null ? null : `${p.state}:${p.step}`;
  let failing: CliError | null = null;
  const attempt = async (): Promise<void> => {
    try {
      p = await read();
    } catch (e) {
      if (!(e instanceof CliError) || e.exitCode !== EXIT.failure) throw e;
      if (failing === null) c.warn(`${name()}: reading it failed (${e.message}); trying again every ${PROMOTION_WAIT_POLL_MS / 1000} s`);
      failing = e;
      return;
    }
    failing = null;
    const now = `${p.state}:${p.step}`;
    if (said !== null && now !== said && p.state === "running")
      c.warn(`promotion ${p.id}: step ${p.step + 1} of ${p.plan.steps.length}, ${p.percent} % of keyed traffic`);
    said = now;
  };
  if (p === null) await attempt();
  while ((p === null || p.state === "running") && left > 0) {
    const pause = Math.min(PROMOTION_WAIT_POLL_MS, left);
    left -= pause;
    await (c.io.sleep ?? sleep)(pause);
    await attempt();
  }
  if (failing !== null) throw failing;
  // p is set: a wait of at least 1 s reads until one read answers or the last one failed (thrown above)
  return p!;
}

/**
 * The promotion printed, or waited for with --wait (its exit code then says how it ended). `first`: the promotion as
 * a start or an override answered it, or null for `scoregate promotion`, whose reads (`read`) the wait retries, the
 * first one too; `id`: what `scoregate promotion` is given to read it again (its id, or the calibration it promotes).
 */
async function printPromotion(
  c: Ctx,
  first: Promotion | null,
  read: () => Promise<Promotion>,
  id: string,
  wait: number | undefined,
): Promise<number> {
  let shown: Promotion;
  if (wait === undefined) shown = first ?? (await read());
  else {
    // the last promotion read: named in the messages once known
    let known = first;
    const tracked = async () => {
      known = await read();
      return known;
    };
    const name = () => (known !== null ? `promotion ${known.id}` : id.startsWith("prm_") ? `promotion ${id}` : `the promotion of ${id}`);
    try {
      shown = await waitForPromotion(c, name, tracked, first, wait);
    } catch (e) {
      // never read, and refused for the caller's input (an unknown promotion, a calibration never promoted): no wait to retry
      if (known === null && !(e instanceof CliError && e.exitCode === EXIT.failure)) throw e;
      // the promotion goes on whatever the wait met: say which, and how to wait for it again
      const again = known !== null ? known.id : id;
      c.warn(
        known !== null
          ? `promotion ${known.id} goes on (the wait for it failed): scoregate promotion ${again} --wait SECONDS waits again`
          : `${name()}: the wait for it failed (no read answered): scoregate promotion ${again} --wait SECONDS waits again`,
      );
      throw e;
    }
  }
  c.out(c.json ? JSON.stringify(shown) : describePromotion(shown));
  if (wait === undefined) return EXIT.ok;
  const code = promotionExit(shown);
  if (code === EXIT.inconclusive) c.warn(`promotion ${shown.id} is still running after ${count(wait)} s: nothing is decided yet`);
  else if (code === EXIT.shifted) c.warn(`promotion ${shown.id} did not complete: it is ${shown.state.replace("_", " ")} (the last lines say why)`);
  return code;
}

/**
 * `scoregate promotion ID`: a promotion as it stands (plan, state, the running step's evidence, every transition).
 * With --wait its first read (finding the promotion of a calibration id, then reading it) is retried as the later ones.
 */
export async function promotion(c: Ctx): Promise<number> {
  const id = oneId(
    c.positionals,
    "promotion takes one promotion id or the calibration it promotes: scoregate promotion prm_...|cal_...",
    "promotion or calibration id",
  );
  const wait = waitFlag(c);
  // the promotion a calibration id names, found once (a gate's open promotion stays its newest)
  let found: string | undefined;
  const read = async (): Promise<Promotion> => {
    found ??= (await promotionOf(c, id)).id;
    return (await c.api().request<Promotion>("getPromotion", { params: { id: found } })).body;
  };
  return printPromotion(c, null, read, id, wait);
}

export async function promote(c: Ctx): Promise<number> {
  const id = oneId(
    c.positionals,
    "promote takes one calibration id: scoregate promote cal_... [--steps 10,50,100] [--min-queries N] [--tolerance T] [--on-regression pause|rollback] [--max-step-hours N]",
  );
  const chosen = OVERRIDES.filter((o) => c.v[o] === true);
  if (chosen.length > 1) throw usage(`--${chosen.join(" and --")} cannot be combined: give one`);
  const wait = waitFlag(c);
  // a pause or a rollback ends the running: its wait would only say "did not complete" (exit 3) for what was asked
  if (wait !== undefined && (chosen[0] === "pause" || chosen[0] === "rollback"))
    throw usage(`--wait waits for a running promotion's outcome: --${chosen[0]} stops it`, "--wait goes with a start, --resume or --advance");
  const reason = c.v.reason === undefined ? {} : { reason: c.v.reason };
  let res: { body: Promotion };
  if (chosen[0] !== undefined) {
    const promotion = await openPromotion(c, id);
    res = await sendChange<Promotion>(c, OVERRIDE_ROUTES[chosen[0]], { params: { id: promotion }, body: reason }, `scoregate promotion ${promotion}`);
  } else {
    const plan: Record<string, unknown> = { ...reason };
    const s = steps(c.v.steps, c.v.straight === true);
    if (s !== undefined) plan.steps = s;
    const minQueries = countFlag(
      c.v["min-queries"],
      "--min-queries",
      MIN_PROMOTION_QUERIES,
      MAX_PROMOTION_QUERIES,
      `a whole number of queries from ${count(MIN_PROMOTION_QUERIES)} to ${count(MAX_PROMOTION_QUERIES)} (default ${count(DEFAULT_PROMOTION_QUERIES)})`,
    );
    if (minQueries !== undefined) plan.min_queries = minQueries;
    const onRegression = oneOf(c.v["on-regression"], "on-regression", ["pause", "rollback"] as const);
    if (onRegression !== undefined) plan.on_regression = onRegression;
    const tolerance = num(c.v.tolerance, "--tolerance", (x) => x > 0 && x < 1, "a drop-rate change above 0 and below 1, e.g. 0.02");
    if (tolerance !== undefined) plan.tolerance = tolerance;
    const maxStepHours = durationFlag(
      c.v["max-step-hours"],
      "--max-step-hours",
      (x) => x > 0 && x <= MAX_STEP_HOURS,
      `hours above 0 and at most ${MAX_STEP_HOURS}`,
    );
    if (maxStepHours !== undefined) plan.max_step_hours = maxStepHours;
    res = await sendChange<Promotion>(
      c,
      "promoteCalibration",
      { params: { id }, body: plan, okStatuses: [200, 201] },
      `scoregate promotion ${id}`,
    ).catch(async (e: unknown) => {
      throw await withGateFlags(c, id, e);
    });
  }
  const started = res.body;
  const read = async () => (await c.api().request<Promotion>("getPromotion", { params: { id: started.id } })).body;
  return printPromotion(c, started, read, started.id, wait);
}

/** The placeholder flags a refusal's hint names a gate with when it cannot know the gate (http.ts stateHint). */
const PLACEHOLDER_FLAGS = "--index I --embedding E --reranker R";

/**
 * A refused start whose hint names the gate by placeholder flags ("scoregate threshold --index I ..."): the flags of
 * the calibration's own gate instead, read from the server, as `shadow --remove` names them. Any other failure, or a
 * calibration that cannot be read, as it came.
 */
async function withGateFlags(c: Ctx, id: string, e: unknown): Promise<unknown> {
  if (!(e instanceof CliError) || !e.hints.some((h) => h.includes(PLACEHOLDER_FLAGS))) return e;
  const cal = await c
    .api()
    .request<Calibration>("getCalibration", { params: { id } })
    .then((r) => r.body)
    .catch(() => null);
  if (cal === null) return e;
  const hints = e.hints.map((h) => h.replaceAll(PLACEHOLDER_FLAGS, gateFlagWords(cal)));
  return new CliError(e.message, e.exitCode, e.code, hints, e.server, e.notSent);
}
