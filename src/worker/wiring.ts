/**
 * The wiring: the only place that turns bindings into services. It builds each feature's slice of dependencies from
 * `env` (storage implementations over D1, KV, the Durable Object namespace and the queue; the clock; randomness;
 * validated configuration), per request, per cron tick, per queue batch and per Durable Object call. No module-level
 * singleton holds a binding; what an isolate keeps between requests comes from ./isolate.ts.
 */
import { D1AlertStore } from "../alerts/d1-store";
import type { AlertDeps } from "../alerts/deps";
import { raiseAlert, resolveAlert } from "../alerts/lifecycle";
import { shiftAlertListener } from "../alerts/shift-alert";
import { noteUncalibrated } from "../alerts/uncalibrated-alert";
import { D1CalibrationStore } from "../calibrations/d1-store";
import type { Alert } from "../contract";
import { D1SessionStore } from "../dashboard/session-store";
import { DurableMonitorClient } from "../monitoring/monitor-client";
import { CloudflareObservationQueue, OBSERVATION_INGEST_MODES, type ObservationIngest } from "../monitoring/observation-queue";
import type { ConsumerDeps } from "../monitoring/queue-consumer";
import { endShadowOnChange } from "../monitoring/shadow-window-listener";
import { isProduction } from "../platform/auth";
import { D1IdempotencyStore } from "../platform/d1-idempotency-store";
import type { Env } from "../platform/env";
import { AppError } from "../platform/errors";
import { cryptoRandomHex16 } from "../platform/ids";
import { KV_CACHE_TTL_SECONDS } from "../platform/limits";
import { publicUrlOf, publicUrlProblem } from "../platform/public-url";
import { missingSchema } from "../platform/readiness";
import { D1PromotionStore } from "../promotions/d1-store";
import type { PausedAlert, PausedAlerts, PromotionDeps } from "../promotions/deps";
import { supersedeOnActivation } from "../promotions/service";
import { decideStepFromEvidence } from "../promotions/step-evidence";
import { promotionStopSummary } from "../promotions/stop-summary";
import type { ReaderDeps } from "../serving/deps";
import { KvThresholdProjection } from "../serving/projection";
import { publishOnActivation } from "../serving/publish";
import { ThresholdReader } from "../serving/threshold-reader";
import { DEFAULT_DRIFT_CONFIG, type DriftConfig } from "../stats/drift-config";
import type { EventSource, HubClient } from "../streaming/deps";
import { DurableHubClient } from "../streaming/hub-client";
import { pushOnActivation } from "../streaming/push-listener";
import { systemRelayClock } from "../streaming/relay";
import { D1WebhookStore } from "../webhooks/d1-store";
import { deliverDue, oneRunAtATime } from "../webhooks/delivery";
import type { WebhookDeps } from "../webhooks/deps";
import type { AppDeps } from "./deps";
import { isolate } from "./isolate";

/** ctx.waitUntil of the request, tick or object call. */
export type WaitUntil = (p: Promise<unknown>) => void;

/** Work after the response: a failure is logged, never thrown into the runtime. */
const deferWith =
  (waitUntil: WaitUntil) =>
  (p: Promise<unknown>): void =>
    waitUntil(
      p.catch((e: unknown) => {
        console.error("deferred work failed", e);
      }),
    );

/** Storage of the system of record and the projection, the clock, ids and deferred work. */
export function coreDeps(
  env: Env,
  waitUntil: WaitUntil,
  now: () => Date = () => new Date(),
  kvCacheTtlSeconds: number | null = KV_CACHE_TTL_SECONDS,
): ReaderDeps & { readonly random: () => string } {
  return {
    calibrations: new D1CalibrationStore(env.DB),
    projection: new KvThresholdProjection(env.THRESHOLDS, kvCacheTtlSeconds),
    now,
    random: cryptoRandomHex16,
    defer: deferWith(waitUntil),
  };
}

/**
 * Webhook endpoints and their delivery. `clock` is what delivery attempts read (WebhookDeps.clock): the real time,
 * whatever `now` a tick or an alert is dated with; tests pass their own.
 */
export function webhookDeps(env: Env, waitUntil: WaitUntil, now: () => Date = () => new Date(), clock: () => Date = () => new Date()): WebhookDeps {
  return {
    webhooks: new D1WebhookStore(env.DB),
    idempotency: new D1IdempotencyStore(env.DB),
    now,
    clock,
    random: cryptoRandomHex16,
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    production: isProduction(env.ENVIRONMENT),
    fetch: (input, init) => fetch(input, init),
    defer: deferWith(waitUntil),
  };
}

/**
 * Alerts, with the webhook delivery that follows an alert event (also what a delivery run needs). The alert is dated
 * by `now`; its delivery run reads `clock` (the real time unless a test passes one).
 */
export function alertDeps(
  env: Env,
  waitUntil: WaitUntil,
  now: () => Date = () => new Date(),
  clock: () => Date = () => new Date(),
): AlertDeps & WebhookDeps {
  const webhooks = webhookDeps(env, waitUntil, now, clock);
  return {
    ...webhooks,
    alerts: new D1AlertStore(env.DB),
    // one run at a time per caller: alerts raised together share its slots (webhooks/delivery.ts)
    deliverWebhooks: oneRunAtATime(() => deliverDue(webhooks), webhooks.defer),
    // an invalid value links nothing here (an alert is never held up by its link); /healthz reports it (checkRuntimeConfig)
    publicUrl: publicUrlOf(env.PUBLIC_URL, isProduction(env.ENVIRONMENT)),
  };
}

/** The drift configuration from env (DRIFT_ALPHA, DRIFT_TOLERANCE), validated; defaults from stats/drift-config.ts. */
export function driftConfig(env: Env): DriftConfig {
  // `range` says in words what `ok` accepts: the 503 names it, as OBSERVATION_INGEST's names its values.
  const read = (name: "DRIFT_ALPHA" | "DRIFT_TOLERANCE", fallback: number, ok: (x: number) => boolean, range: string): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return fallback;
    const x = Number(raw);
    if (!ok(x)) throw new AppError("misconfigured", `${name}=${JSON.stringify(raw)} is not valid: use a number ${range} (default ${fallback})`);
    return x;
  };
  return {
    ...DEFAULT_DRIFT_CONFIG,
    alpha: read("DRIFT_ALPHA", DEFAULT_DRIFT_CONFIG.alpha, (x) => x > 0 && x < 0.5, "above 0 and below 0.5"),
    tolerance: read("DRIFT_TOLERANCE", DEFAULT_DRIFT_CONFIG.tolerance, (x) => x >= 0 && x < 1, "at least 0 and below 1"),
  };
}

/**
 * The observation ingest mode from env (OBSERVATION_INGEST: "direct", the default when unset or empty, or "queue"),
 * validated: any other value, or "queue" without the OBSERVATIONS_QUEUE binding, is AppError misconfigured.
 */
export function observationIngest(env: Env): ObservationIngest {
  const raw = env.OBSERVATION_INGEST;
  const mode = raw === undefined || raw.trim() === "" ? "direct" : raw;
  if (mode === "direct") return { mode };
  if (mode === "queue") {
    if (env.OBSERVATIONS_QUEUE === undefined) {
      throw new AppError(
        "misconfigured",
        'OBSERVATION_INGEST is "queue" but the Worker has no OBSERVATIONS_QUEUE binding: declare it under [[queues.producers]] in wrangler.toml',
      );
    }
    return { mode, queue: new CloudflareObservationQueue(env.OBSERVATIONS_QUEUE) };
  }
  throw new AppError(
    "misconfigured",
    `OBSERVATION_INGEST=${JSON.stringify(raw)} is not valid: use ${OBSERVATION_INGEST_MODES.map((m) => JSON.stringify(m)).join(" or ")}`,
  );
}

/**
 * The run-time variables the routes validate when first used (DRIFT_*, OBSERVATION_INGEST): throws the AppError
 * misconfigured, with the same message, that the first of them a route reads would answer. Pure, no I/O: /healthz
 * runs it on every probe, so a load balancer or an uptime check sees a misconfiguration the drift and observation
 * routes would answer 503 for. PUBLIC_URL too, which no route refuses: alerts are raised without their link meanwhile.
 */
export function checkRuntimeConfig(env: Env): void {
  driftConfig(env);
  observationIngest(env);
  const problem = env.PUBLIC_URL === undefined ? null : publicUrlProblem(env.PUBLIC_URL, isProduction(env.ENVIRONMENT));
  if (problem !== null) {
    throw new AppError(
      "misconfigured",
      `PUBLIC_URL=${JSON.stringify(env.PUBLIC_URL)} is not valid: it ${problem} (alert webhooks carry no link meanwhile)`,
    );
  }
}

/** What the observation queue's consumer needs: the gate monitors, the clock, the drift configuration, a logger. */
export function consumerDeps(env: Env, now: () => Date = () => new Date()): ConsumerDeps {
  let drift: DriftConfig | undefined;
  return {
    monitor: new DurableMonitorClient(env.GATE_MONITOR),
    now,
    get drift() {
      drift ??= driftConfig(env);
      return drift;
    },
    log: {
      warn: (message, fields) => console.warn(message, JSON.stringify(fields)),
      error: (message, fields) => console.error(message, JSON.stringify(fields)),
    },
  };
}

/** The activation log a gate's hub catches up from (D1). */
export const eventSource = (env: Env): EventSource => new D1CalibrationStore(env.DB);

/** The gates' hubs of pushed changes (their GateMonitor objects). */
export const hubClient = (env: Env): HubClient => new DurableHubClient(env.GATE_MONITOR);

/** A promotion stopped on a regression or a timeout raises its alert (the alerts feature), with the decision's numbers. */
function promotionStoppedAlert(alerts: AlertDeps, core: ReturnType<typeof coreDeps>): PromotionDeps["promotionStopped"] {
  return async (promotion, record, kind) => {
    const [gate, candidate, control] = await Promise.all([
      core.calibrations.gate(promotion.gate_id),
      core.calibrations.get(promotion.candidate_calibration_id),
      core.calibrations.get(promotion.control_calibration_id),
    ]);
    if (gate === null) return;
    const verb = kind === "promotion_rolled_back" ? "rolled back" : "paused";
    const versions = candidate !== null && control !== null ? { candidate: candidate.index_version, control: control.index_version } : undefined;
    await raiseAlert(
      {
        gate_id: promotion.gate_id,
        gate,
        kind,
        summary: promotionStopSummary(promotion, record, verb, versions),
        details: { promotion_id: promotion.id, step: record.step, cause: record.cause, ...record.numbers },
        calibration_ids: [promotion.candidate_calibration_id, promotion.control_calibration_id],
      },
      alerts,
    );
  };
}

/**
 * The promotions feature's view of the gate's promotion_paused alerts (resolved once their pause is over): the alerts
 * feature's store and lifecycle. An alert names the promotion of its newest occurrence (a repeat of the gate's next
 * promotion's pause counts on an alert left unresolved), else its first's.
 */
function pausedAlertsOf(alerts: AlertDeps): PausedAlerts {
  const named = async (a: Alert): Promise<PausedAlert> => {
    const [latest] = await alerts.alerts.occurrences(a.id, 1);
    const id = latest?.details.promotion_id ?? a.details.promotion_id;
    return { id: a.id, gate_id: a.gate_id, promotion_id: typeof id === "string" ? id : null };
  };
  return {
    unresolved: async (gateId) => {
      // newest opened first: the gate's one unresolved alert of the kind, when there is one, is its newest
      const [a] = await alerts.alerts.list({ gate_id: gateId, kind: "promotion_paused", limit: 1 });
      return a === undefined || a.status === "resolved" ? null : named(a);
    },
    allUnresolved: async (limit) => {
      const [open, acknowledged] = await Promise.all([
        alerts.alerts.list({ kind: "promotion_paused", status: "open", limit }),
        alerts.alerts.list({ kind: "promotion_paused", status: "acknowledged", limit }),
      ]);
      return Promise.all([...open, ...acknowledged].map(named));
    },
    resolve: async (alertId, actor, note) => {
      await resolveAlert(alertId, actor, note, alerts);
    },
  };
}

/** Everything a request may need: one object that satisfies every feature's slice (./deps.ts). */
export function appDeps(env: Env, waitUntil: WaitUntil, now: () => Date = () => new Date()): AppDeps {
  let drift: DriftConfig | undefined;
  let ingest: ObservationIngest | undefined;
  const core = coreDeps(env, waitUntil, now);
  const alerts = alertDeps(env, waitUntil, now);
  const thresholds = new ThresholdReader(isolate.thresholds, core);
  const hub = hubClient(env);
  const deps: AppDeps = {
    ...core,
    ...alerts,
    thresholds,
    // Whoever activates (upload, promote, roll back, the dashboard): publish from D1, forget this isolate's copies,
    // push the change to the gate's subscribers, then raise or resolve rebuild_shift, in this order, before the answer.
    activationListeners: [
      publishOnActivation(core),
      thresholds.invalidateOnActivation,
      pushOnActivation(hub),
      shiftAlertListener(alerts),
      // promotions: a manual activation supersedes the gate's open promotion (a completion, promotion_completed,
      // closed its own before activating)
      {
        run: (e) => (e.event.kind === "activation" ? supersedeOnActivation(e.activation, deps) : undefined),
        failure: "promotion supersede failed",
      },
      // monitoring: a calibration leaving the shadow set ends its shadow window
      endShadowOnChange(
        {
          monitor: { endShadow: (gateId, calibrationId, nowMs, config) => deps.monitor.endShadow(gateId, calibrationId, nowMs, config) },
          calibrations: core.calibrations,
        },
        () => deps.drift,
        now,
      ),
    ],
    // --- promotions (E2) ---
    promotions: new D1PromotionStore(env.DB),
    promotionStopped: promotionStoppedAlert(alerts, core),
    pausedAlerts: pausedAlertsOf(alerts),
    // A counted promotion-arm batch lets its step decide on the evidence (advance, pause or roll back).
    armCounted: (p, arms) => decideStepFromEvidence(p, deps, arms),
    hub,
    relayClock: systemRelayClock,
    onUncalibrated: (gateId, q, caller, suggestions) => {
      noteUncalibrated(gateId, q, caller, suggestions, alerts, isolate.uncalibratedAlerts);
    },
    monitor: new DurableMonitorClient(env.GATE_MONITOR),
    // Validated when first used, so a typo in DRIFT_* fails the drift endpoints loudly without taking serving down.
    get drift() {
      drift ??= driftConfig(env);
      return drift;
    },
    // Validated when first used, like drift: a typo in OBSERVATION_INGEST fails POST /v1/observations, nothing else.
    get ingest() {
      ingest ??= observationIngest(env);
      return ingest;
    },
    idempotency: new D1IdempotencyStore(env.DB),
    sessions: new D1SessionStore(env.DB),
    loginThrottle: isolate.loginThrottle,
    // /healthz: a misconfiguration (503 misconfigured) before the schema probe (503 not_migrated), so the check that
    // needs no I/O answers first and the healthy answer is unchanged.
    missingSchema: async () => {
      checkRuntimeConfig(env);
      return missingSchema(env.DB, isolate.migrated);
    },
    openApiDocument: isolate.openApiDocument,
  };
  return deps;
}
