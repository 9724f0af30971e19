/**
 * @scoregate/openfeature: an OpenFeature server provider where a number flag is a gate's threshold. The flag key
 * names a gate through the `gates` map (or `resolveGate`); the evaluation context may pin `indexVersion`. Values come
 * from @scoregate/client, so evaluations never wait on the network once a gate is held. docs/clients.md has the
 * mapping of reasons and events.
 *
 * A number is only the threshold: the calibration's guards and abstention cutoff travel in the flag metadata
 * (`minKeep`, `maxKeep`, `abstainBelow`), and `provider.gate(flagKey, candidates, ...)` applies all of it the way
 * the SDK's `gate()` does (an abstaining query keeps nothing and says why).
 */
import {
  ErrorCode,
  type EvaluationContext,
  type FlagMetadata,
  GeneralError,
  type JsonValue,
  type Logger,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
  StandardResolutionReasons,
} from "@openfeature/server-sdk";
import {
  type Arm,
  type ClientEvent,
  decideQuery,
  type GateKey,
  type GateOptions,
  type GateResult,
  type Observation,
  type PromotionRef,
  ScoregateClient,
  type ShadowOptions,
  type ThresholdResult,
} from "@scoregate/client";
import { addUserAgentProduct, fallbackOf, scoresOf } from "@scoregate/client/adapter";
// Shadow evaluation is its own entry of the SDK (the core leaves it out for services that never mirror queries).
import { shadow } from "@scoregate/client/shadow";
// Options without a client build the client of the stream entry, so `stream: true` turns pushed changes on.
import { type StreamClientOptions, ScoregateClient as StreamingClient } from "@scoregate/client/stream";
// package.json is read at build time: the bundler inlines this one field.
import { DEFAULT_INDEX } from "../../../src/contract/limits";
import { version } from "../package.json";
import { ServedMemory } from "./served-memory";

export { MAX_REMEMBERED_FLAG_GATES } from "./served-memory";

export interface ScoregateProviderOptions {
  /** A client shared with the rest of the service, or options to create one (then the provider closes it). */
  client: ScoregateClient | StreamClientOptions;
  /** Flag key -> gate. */
  gates?: Record<string, GateKey>;
  /** For flag keys not in `gates`: derive the gate (for example from a naming scheme); undefined means not found. */
  resolveGate?: (flagKey: string, context: EvaluationContext) => GateKey | undefined;
  /**
   * The number served for a null threshold (a calibration with target 0: keep everything). Default -Infinity, so
   * `score >= value` keeps every candidate.
   */
  nullThreshold?: number;
  /** Wait at most this long in `initialize()` for the gates of `gates` (default: the client's timeout). */
  initializeTimeoutMs?: number;
}

/** The client errors that mean scoregate gave no answer (not a refusal of the request): initialize() fails on them. */
const UNANSWERED: ReadonlySet<string> = new Set(["network", "timeout", "server_error", "rate_limited", "overloaded"]);
/** A fallback for lack of an answer: nothing held, and an error that is not the server's refusal of the request. */
const unanswered = (r: ThresholdResult): boolean => r.reason === "fallback" && r.error !== undefined && UNANSWERED.has(r.error.code);
/** The first and the longest wait of a provider that asks again after initialize() got no answer (#askAgain). */
const RETRY_INITIAL_MS = 1000;
const RETRY_MAX_MS = 60_000;

/**
 * One query's counts for `provider.report()`: an `Observation` without its gate (the flag names it), whose
 * `calibrationId` takes an evaluation's `variant` as is (undefined when the evaluation answered the caller's default).
 */
export type FlagObservation = Omit<Observation, "gate" | "calibrationId"> & { calibrationId?: string | null | undefined };

export class ScoregateProvider implements Provider {
  readonly metadata = { name: "scoregate" } as const;
  readonly runsOn = "server" as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly client: ScoregateClient;
  readonly #ownsClient: boolean;
  readonly #gates: Record<string, GateKey>;
  readonly #resolveGate: ScoregateProviderOptions["resolveGate"];
  readonly #nullThreshold: number;
  readonly #initializeTimeoutMs: number | undefined;
  /**
   * The calibration each flag key last answered with, per gate (servedKey), to announce changes once per flag; the
   * least recently evaluated out past MAX_REMEMBERED_FLAG_GATES (served-memory.ts).
   */
  readonly #served = new ServedMemory();
  #unsubscribe: (() => void) | undefined;
  /** initialize() has ended (resolved or rejected): a first calibration is a change of the flag from then on. */
  #initialized = false;
  #closed = false;
  /** The pending ask of #askAgain, if any. */
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * The status the provider gave the application (through its events, or initialize()'s outcome): READY, STALE (failures
   * while values are served) or ERROR (a refused token, or a mapped gate that got no answer and holds no value).
   */
  #status: Status = "ready";
  /**
   * From initialize() until the SDK has applied its outcome (READY when it resolves, ERROR when it rejects, set after
   * it returns): a status event emitted meanwhile would be overwritten by that outcome, so the status is kept here and
   * emitted once the outcome is in place, when it differs (a held value whose refresh failed while initialize ran).
   */
  #settling: { message: string; flagsChanged?: string[] } | false = false;

  /**
   * Throws TypeError for options that cannot work: no client, a `gates` entry without `embedding` or `reranker` (it
   * would answer every evaluation with the caller's default), a `resolveGate` that is not a function.
   */
  constructor(options: ScoregateProviderOptions) {
    checkOptions(options);
    this.#ownsClient = !(options.client instanceof ScoregateClient);
    this.client = options.client instanceof ScoregateClient ? options.client : new StreamingClient(options.client);
    addUserAgentProduct(this.client, `scoregate-openfeature/${version}`);
    this.#gates = { ...options.gates };
    this.#resolveGate = options.resolveGate;
    this.#nullThreshold = options.nullThreshold ?? Number.NEGATIVE_INFINITY;
    this.#initializeTimeoutMs = options.initializeTimeoutMs;
  }

  /**
   * Fetches the mapped gates once (bounded by the timeout), so the first evaluations are not fallbacks. It rejects
   * (the SDK then sets the status ERROR and emits PROVIDER_ERROR, OpenFeature spec requirements 1.7.4 and 2.4.2.1) when
   * the provider cannot evaluate its flags: scoregate refused the token, or a mapped gate got no answer (server down,
   * unreachable, timing out) and no value is held for it. Evaluations then answer the caller's default with reason ERROR
   * and error code GENERAL, and the provider turns READY when scoregate answers (never after a refused token).
   */
  async initialize(): Promise<void> {
    this.#unsubscribe ??= this.client.subscribe((e) => this.#onClientEvent(e));
    const options = this.#initializeTimeoutMs === undefined ? { fallback: null } : { fallback: null, timeoutMs: this.#initializeTimeoutMs };
    this.#status = "ready";
    this.#settling = { message: "" };
    let outcome: "ready" | "error" = "error";
    try {
      const results = await Promise.all(
        Object.entries(this.#gates).map(async ([flag, g]) => [flag, await this.client.getThreshold(g, options)] as const),
      );
      for (const [flag, r] of results) this.#served.evaluated(servedKey(flag, this.#gates[flag]!), r.calibrationId);
      const auth = this.client.authError;
      if (auth !== undefined) throw new GeneralError(`scoregate refused the token: ${auth.message}`);
      // A fallback for lack of an answer (the server down, unreachable, timing out, failing or busy), nothing held. A
      // refusal of one flag's gate (a 400 for a misconfigured name) is the server's answer for that flag, which answers
      // its evaluations with the error, as an uncalibrated gate is (FLAG_NOT_FOUND): not a failure of the provider.
      const failed = results.filter(([, r]) => unanswered(r));
      if (failed.length > 0) {
        const [flag, r] = failed[0]!;
        const more = failed.length > 1 ? ` (and ${failed.length - 1} more of the ${results.length} mapped flags)` : "";
        // asked again in the background until scoregate answers, which makes the provider READY (#onClientEvent)
        this.#askAgain(failed.map(([f]) => this.#gates[f]!));
        throw new GeneralError(`scoregate did not answer flag "${flag}"${more} (${r.error!.code}): ${r.error!.message}`);
      }
      outcome = "ready";
    } finally {
      this.#initialized = true;
      // What the SDK sets when this returns; a failure the client announced meanwhile is STALE at most (held values).
      if (outcome === "error") this.#status = "error";
      // The SDK applies the outcome in a reaction to this promise: the timer runs after it.
      setTimeout(() => this.#settled(outcome), 0);
    }
  }

  /**
   * After initialize() failed for lack of an answer: asks for `gates` again after 1 s, doubling to 60 s, until the
   * provider is no longer in ERROR (scoregate answered: READY, #onClientEvent) or closes, or the token is refused. An
   * application or a readiness probe waiting for READY would otherwise wait for an evaluation that never comes.
   * Unref'd timers: they never hold a process open.
   */
  #askAgain(gates: GateKey[], attempt = 1): void {
    clearTimeout(this.#retryTimer);
    const timer = setTimeout(
      () => {
        if (this.#closed || this.#status !== "error" || this.client.authError !== undefined) return;
        void Promise.all(gates.map((g) => this.client.getThreshold(g, { fallback: null }))).then((results) => {
          if (results.some(unanswered)) this.#askAgain(gates, attempt + 1);
        });
      },
      Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** (attempt - 1)),
    );
    (timer as { unref?: () => void }).unref?.();
    this.#retryTimer = timer;
  }

  /** The SDK has set initialize()'s outcome: a status that differs from it is emitted now. */
  #settled(outcome: "ready" | "error"): void {
    const details = this.#settling;
    this.#settling = false;
    if (details === false || this.#status === outcome) return;
    this.events.emit(STATUS_EVENTS[this.#status], details);
  }

  /** Sets the status and tells the SDK, or keeps it for #settled while initialize()'s outcome is not applied yet. */
  #setStatus(status: Status, details: { message: string; flagsChanged?: string[] }): void {
    this.#status = status;
    if (this.#settling !== false) this.#settling = details;
    else this.events.emit(STATUS_EVENTS[status], details);
  }

  async onClose(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#ownsClient) await this.client.close();
  }

  async resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
    logger?: Logger,
  ): Promise<ResolutionDetails<number>> {
    const found = this.#lookup(flagKey, context);
    if (!("gate" in found))
      return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode[found.code], errorMessage: found.message };
    const gate = found.gate;
    const r = await this.client.getThreshold(gate, { fallback: defaultValue, ...keyOf(context) });
    this.#noteServed(flagKey, gate, r);
    const flagMetadata = metadataOf(r);
    if (r.reason === "uncalibrated")
      return {
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ErrorCode.FLAG_NOT_FOUND,
        // The server's word says which gate was meant when the flag's gate has a typo ("did you mean index=docs?").
        errorMessage: `gate of flag "${flagKey}" has no active calibration${r.error ? ` (${r.error.message})` : ""}`,
        flagMetadata,
      };
    if (r.reason === "fallback") {
      if (r.error === undefined) return { value: defaultValue, reason: StandardResolutionReasons.DEFAULT, flagMetadata };
      logger?.warn(`scoregate: flag "${flagKey}" answered its default: ${r.error.message}`);
      // Abnormal execution (OpenFeature spec, requirement 2.2.7): scoregate unreachable, timed out or refusing the token,
      // with no value held. An error code, so error hooks and telemetry see the outage instead of a plain default.
      return {
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ErrorCode.GENERAL,
        errorMessage: `scoregate did not answer flag "${flagKey}" (${r.error.code}): ${r.error.message}`,
        flagMetadata,
      };
    }
    const reason =
      r.reason === "cached"
        ? StandardResolutionReasons.CACHED
        : r.reason === "stale"
          ? StandardResolutionReasons.STALE
          : StandardResolutionReasons.STATIC;
    return { value: r.threshold ?? this.#nullThreshold, variant: r.calibrationId!, reason, flagMetadata };
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): Promise<ResolutionDetails<boolean>> {
    return typeMismatch(flagKey, defaultValue);
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string): Promise<ResolutionDetails<string>> {
    return typeMismatch(flagKey, defaultValue);
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return typeMismatch(flagKey, defaultValue);
  }

  /**
   * Applies the gate of a flag to one query's candidates with the SDK's `gate()`: the threshold, the guards and the
   * abstention cutoff, reporting the counts under the calibration that decided. A flag key that names no gate applies
   * the caller's `fallback` threshold alone, with reason `fallback` and a `bad_request` error (never throws). An
   * abstaining query returns no candidates: `abstain` is true and `abstainReason` says why.
   */
  async gate<T>(
    flagKey: string,
    candidates: readonly T[],
    options: Omit<GateOptions<T>, "gate">,
    context: EvaluationContext = {},
  ): Promise<GateResult<T>> {
    // JavaScript callers can omit the options: no score function (every candidate unscored) and no fallback (null).
    options ??= {} as Omit<GateOptions<T>, "gate">;
    const found = this.#lookup(flagKey, context);
    if ("gate" in found) return this.client.gate(candidates, { ...keyOf(context), ...options, gate: found.gate });
    const guards = { minKeep: 0, maxKeep: null };
    const threshold = fallbackOf(options.fallback);
    const d = decideQuery(scoresOf(candidates, options.score), { threshold, ...guards, abstainBelow: null }, options.unscored ?? "keep");
    return {
      kept: candidates.filter((_, i) => d.kept[i]),
      dropped: candidates.filter((_, i) => !d.kept[i]),
      abstain: false,
      topScore: d.topScore,
      threshold,
      guards,
      abstainBelow: null,
      calibrationId: null,
      reason: "fallback",
      indexVersion: null,
      unscored: d.unscored,
      error: { code: "bad_request", message: found.message },
    };
  }

  /**
   * Reports one query's counts for the gate of a flag, under the calibration that produced the threshold (pass
   * `servedBy(details)`: the evaluation's `variant`, which is the calibration id, and during a promotion the arm its
   * key was served, which the server needs to count a candidate's queries as the promotion's evidence). A `calibrationId` given as undefined or null (the
   * evaluation answered the caller's default: the counts were made at the caller's default, not at a calibration's threshold) is
   * not sent, like an unmapped flag without one: the client counts it in `observationStats().ignored`. Counts made
   * during an outage would otherwise reach the live calibration's drift monitor and promotion evidence. Leave
   * `calibrationId` out to report under the flag's gate on purpose.
   */
  report(flagKey: string, observation: FlagObservation, context: EvaluationContext = {}): void {
    const gate = this.#gateOf(flagKey, context);
    // A gate passed by a JavaScript caller is dropped: the flag names the gate.
    const { calibrationId, gate: _gate, ...counts } = observation as FlagObservation & { gate?: unknown };
    if (typeof calibrationId === "string" && calibrationId !== "")
      this.client.report(gate === undefined ? { ...counts, calibrationId } : { ...counts, calibrationId, gate });
    else if (gate !== undefined && !Object.hasOwn(observation, "calibrationId")) this.client.report({ ...counts, gate });
    // With neither a calibration nor a gate the client sends nothing and counts the report as ignored.
    else this.client.report({ ...counts, calibrationId: null });
  }

  /**
   * Shadow evaluation of one mirrored query for the gate of a flag (`shadow()` of `@scoregate/client/shadow`): the key
   * defaults to the context's `targetingKey`. Returns the shadow calibrations it was reported for (none for an unmapped flag).
   */
  async shadow<T>(
    flagKey: string,
    candidates: readonly T[],
    options: Omit<ShadowOptions<T>, "gate" | "key"> & { key?: string },
    context: EvaluationContext = {},
  ): Promise<string[]> {
    const gate = this.#gateOf(flagKey, context);
    const key = options.key ?? context.targetingKey;
    if (gate === undefined || key === undefined) return [];
    return shadow(this.client, candidates, { ...options, gate, key });
  }

  /** The gate of a flag in a context, or why there is none (an OpenFeature error code and a message). */
  #lookup(
    flagKey: string,
    context: EvaluationContext,
  ): { gate: GateKey } | { code: "FLAG_NOT_FOUND" | "INVALID_CONTEXT" | "GENERAL"; message: string } {
    let base: GateKey | undefined;
    if (Object.hasOwn(this.#gates, flagKey)) base = this.#gates[flagKey];
    else
      try {
        base = this.#resolveGate?.(flagKey, context);
      } catch (e) {
        return { code: "GENERAL", message: `resolveGate("${flagKey}") threw: ${e instanceof Error ? e.message : String(e)}` };
      }
    if (base === undefined) return { code: "FLAG_NOT_FOUND", message: `no scoregate gate is mapped to flag "${flagKey}"` };
    if (!isGate(base))
      return { code: "GENERAL", message: `resolveGate("${flagKey}") returned ${JSON.stringify(base)}, not a gate { embedding, reranker, index? }` };
    // Absent, null or "": not pinned. Any other value is a mistake in the context, not a reason to read the unpinned gate.
    const pinned = context.indexVersion;
    if (pinned === undefined || pinned === null || pinned === "") return { gate: base };
    if (typeof pinned !== "string")
      return { code: "INVALID_CONTEXT", message: `the evaluation context's indexVersion must be a string (got ${JSON.stringify(pinned)})` };
    return { gate: { ...base, indexVersion: pinned } };
  }

  #gateOf(flagKey: string, context: EvaluationContext): GateKey | undefined {
    const found = this.#lookup(flagKey, context);
    return "gate" in found ? found.gate : undefined;
  }

  #noteServed(flagKey: string, gate: GateKey, r: ThresholdResult): void {
    // A promotion's candidate arm serves another calibration to some keys: that is the split, not a change of the flag.
    if (r.promotion?.arm === "candidate") return;
    // Per flag and gate: a context pinned to an index version reads another gate, not a change of the flag.
    const key = servedKey(flagKey, gate);
    const before = this.#served.get(key);
    this.#served.evaluated(key, r.calibrationId);
    // The first evaluation of a flag is not a change; a later different calibration (or losing one) is.
    if (before !== undefined && before !== r.calibrationId)
      this.events.emit(ProviderEvents.ConfigurationChanged, {
        flagsChanged: [flagKey],
        message: `calibration ${before ?? "none"} -> ${r.calibrationId ?? "none"}`,
      });
  }

  /**
   * The flags that read a gate: those `gates` maps to it, and those evaluated on it so far (a `resolveGate` flag, a
   * flag whose context pinned an index version). Every mapped flag for a change that names no gate.
   */
  #flagsOf(gate: GateKey | null): string[] {
    if (gate === null) return Object.keys(this.#gates);
    const flags = new Set(
      Object.entries(this.#gates)
        .filter(([flag, g]) => servedKey(flag, g) === servedKey(flag, gate))
        .map(([flag]) => flag),
    );
    for (const key of this.#served.keys()) {
      const flag = (JSON.parse(key) as [string])[0];
      if (key === servedKey(flag, gate)) flags.add(flag);
    }
    return [...flags];
  }

  /** The server answered: a provider in ERROR or STALE is READY again (after a refused token it sends nothing). */
  #answered(): void {
    if (this.#status === "ready" || this.client.authError !== undefined) return;
    this.#setStatus("ready", { message: "scoregate answers again" });
  }

  #onClientEvent(e: ClientEvent): void {
    if (e.type === "calibration" || e.type === "uncalibrated") this.#answered();
    if (e.type === "calibration") {
      // Same calibration (a snapshot confirmed by a 304), or the first answers while initialize() is still running
      // (READY follows): nothing changed for the application.
      if (e.previousCalibrationId === e.calibrationId || (!this.#initialized && e.previousCalibrationId === null)) return;
      const flags = this.#flagsOf(e.gate);
      // A gate no flag has read yet (the first evaluation of a resolveGate flag, or of a newly pinned index version):
      // the evaluation that asked gets the value itself; announcing it would tell the application about no flag.
      if (flags.length === 0) return;
      for (const f of flags) this.#served.changed(servedKey(f, e.gate), e.calibrationId);
      this.events.emit(ProviderEvents.ConfigurationChanged, {
        flagsChanged: flags,
        message: `calibration ${e.previousCalibrationId ?? "none"} -> ${e.calibrationId}`,
        metadata: { calibrationId: e.calibrationId },
      });
    } else if (e.type === "error") {
      if (e.error.code === "unauthorized" || e.error.code === "forbidden") this.#setStatus("error", { message: e.error.message });
      // Values keep being served. A provider already in ERROR (nothing held since startup, or a refused token) stays so.
      else if (this.#status !== "error") this.#setStatus("stale", { message: e.error.message, flagsChanged: this.#flagsOf(e.gate) });
    } else if (e.type === "recovered") {
      this.#answered();
    } else if (e.type === "gate" && e.event.kind !== "activation" && e.event.kind !== "promotion_completed") {
      // A pushed change that keeps the gate's calibration (a promotion step, pause or rollback, a shadow): the split or
      // the shadow set changed. A pushed activation was announced by its `calibration` event just before.
      const { seq, kind } = e.event;
      this.events.emit(ProviderEvents.ConfigurationChanged, {
        flagsChanged: this.#flagsOf(e.gate),
        message: `${kind} (event ${seq})`,
        metadata: { calibrationId: e.event.served?.calibration_id ?? e.event.calibration_id, seq, kind },
      });
    }
  }
}

/** The provider's status as its events set it in the SDK (FATAL never: held values are served after any failure). */
type Status = "ready" | "stale" | "error";
const STATUS_EVENTS = { ready: ProviderEvents.Ready, stale: ProviderEvents.Stale, error: ProviderEvents.Error } as const;

const isText = (v: unknown): v is string => typeof v === "string" && v !== "";

/** A gate key as a JavaScript caller or a `resolveGate` may produce it: `embedding` and `reranker` required. */
function isGate(g: unknown): g is GateKey {
  const k = g as Partial<Record<keyof GateKey, unknown>> | null;
  return (
    typeof k === "object" &&
    k !== null &&
    isText(k.embedding) &&
    isText(k.reranker) &&
    (k.index === undefined || isText(k.index)) &&
    (k.indexVersion === undefined || isText(k.indexVersion))
  );
}

/** The constructor's checks, each a TypeError naming the option (a JavaScript caller can pass anything). */
function checkOptions(o: ScoregateProviderOptions): void {
  const fail = (what: string) => {
    throw new TypeError(`ScoregateProvider: ${what}`);
  };
  if (typeof o !== "object" || o === null) fail("options are required: { client, gates }");
  if (typeof o.client !== "object" || o.client === null) fail("options.client must be a ScoregateClient or its options ({ baseUrl, token })");
  if (o.gates !== undefined && (typeof o.gates !== "object" || o.gates === null)) fail("options.gates must map flag keys to gates");
  for (const [flag, g] of Object.entries(o.gates ?? {})) {
    const k = g as Partial<Record<keyof GateKey, unknown>> | null;
    if (typeof k !== "object" || k === null || !isText(k.embedding) || !isText(k.reranker))
      fail(`options.gates["${flag}"] must name a gate: { embedding, reranker, index? } (got ${JSON.stringify(g) ?? "undefined"})`);
    for (const f of ["index", "indexVersion"] as const)
      if (k?.[f] !== undefined && !isText(k?.[f])) fail(`options.gates["${flag}"].${f} must be a non-empty string when given`);
  }
  if (o.resolveGate !== undefined && typeof o.resolveGate !== "function") fail("options.resolveGate must be a function");
  if (o.nullThreshold !== undefined && typeof o.nullThreshold !== "number") fail("options.nullThreshold must be a number");
}

/** A flag's entry in the calibrations served: per gate, an index version pinned by the context included. */
function servedKey(flagKey: string, g: GateKey): string {
  return JSON.stringify([flagKey, g.index ?? DEFAULT_INDEX, g.embedding, g.reranker, g.indexVersion ?? null]);
}

/** The assignment key of an evaluation: OpenFeature's standard `targetingKey` (a user or session id). */
function keyOf(context: EvaluationContext): { assignmentKey?: string } {
  return context.targetingKey === undefined ? {} : { assignmentKey: context.targetingKey };
}

function metadataOf(r: ThresholdResult): FlagMetadata {
  const m: FlagMetadata = { scoregateReason: r.reason };
  if (r.calibrationId !== null) m.calibrationId = r.calibrationId;
  if (r.indexVersion !== null) m.indexVersion = r.indexVersion;
  if (r.expectedDropRate !== null) m.expectedDropRate = r.expectedDropRate;
  // Metadata values cannot be null: an absent maxKeep or abstainBelow means none.
  if (r.guards.minKeep > 0) m.minKeep = r.guards.minKeep;
  if (r.guards.maxKeep !== null) m.maxKeep = r.guards.maxKeep;
  if (r.abstainBelow !== null) m.abstainBelow = r.abstainBelow;
  if (r.fetchedAt !== null) m.fetchedAt = r.fetchedAt;
  if (r.error !== undefined) m.error = r.error.message;
  // The promotion arm the evaluation's key was served (servedBy reads it back for provider.report).
  if (r.promotion !== undefined) {
    m.promotionId = r.promotion.id;
    m.promotionStep = r.promotion.step;
    m.promotionArm = r.promotion.arm;
  }
  return m;
}

/** The arms a promotion claim may name: a Record, so the compiler checks it against the client's `Arm`. */
const ARMS: Record<Arm, 1> = { candidate: 1, control: 1, unassigned: 1 };

/**
 * What `provider.report()` needs of an evaluation: the calibration that produced its value (`variant`; null when it
 * answered the caller's default) and, during a guarded promotion, the arm its key was served (from the flag
 * metadata). `provider.report(flagKey, { ...servedBy(details), candidates, dropped }, context)`: a candidate arm's
 * counts without it are refused by the server, so a regressed candidate could not stop its promotion.
 */
export function servedBy(details: { variant?: string; flagMetadata?: FlagMetadata }): {
  calibrationId: string | null;
  promotion?: PromotionRef;
} {
  const calibrationId = typeof details.variant === "string" && details.variant !== "" ? details.variant : null;
  const m = details.flagMetadata ?? {};
  const { promotionId: id, promotionStep: step, promotionArm: arm } = m;
  if (calibrationId === null || typeof id !== "string" || typeof step !== "number" || typeof arm !== "string" || !Object.hasOwn(ARMS, arm))
    return { calibrationId };
  return { calibrationId, promotion: { id, step, arm: arm as PromotionRef["arm"] } };
}

function typeMismatch<T>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
  return {
    value: defaultValue,
    reason: StandardResolutionReasons.ERROR,
    errorCode: ErrorCode.TYPE_MISMATCH,
    errorMessage: `scoregate flags are numbers (thresholds); "${flagKey}" was read as another type`,
  };
}
