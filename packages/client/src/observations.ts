/**
 * Observation batching for POST /v1/observations: one pending batch per calibration (or gate), sent when full or
 * old enough, each with a batch id that it keeps across retries (the server counts a batch id once). Memory is
 * bounded: past `maxQueued` queries (plus the one batch being sent) the oldest are dropped and counted. Failures back off with jitter and honour
 * Retry-After; a refused token stops reporting.
 */
// The contract modules imported here (limits, wire-types) import no zod: its schemas stay out of the bundle and zod
// out of the published types (docs/architecture.md, "How the contract travels with the clients").
import { MAX_BATCH_ID_LENGTH, MAX_CANDIDATES_PER_QUERY, MAX_OBSERVATION_QUERIES, MAX_OBSERVATION_SCORES } from "../../../src/contract/limits";
import type { ObservationBatch, PromotionArm, QueryCounts } from "../../../src/contract/wire-types";
import { isGateKey, wireGate } from "./cache-entry";
import type { ResolvedOptions } from "./client-options";
import { backoffDelay, describeFailure, handTo, type Outcome, parseRetryAfter, startTimer } from "./http";
import { isCount } from "./threshold-response";
import type { ClientError, FlushResult, GateKey, Observation, ObservationStats, PromotionRef, ScoregateClientOptions } from "./types";

type Target = Pick<ObservationBatch, "calibration_id" | "index" | "embedding" | "reranker" | "index_version"> & {
  role?: "shadow";
  promotion?: PromotionRef;
};

/** The queries of one target waiting to be sealed into a batch, under `key` in the pending map. */
interface Group {
  key: string;
  target: Target;
  queries: QueryCounts[];
  scores: number[];
  createdAt: number;
}

/** A sealed group: its batch id (kept across retries) and when it may be sent again. */
interface Batch extends Group {
  id: string;
  nextAttemptAt: number;
}

/** What the reporter needs of its client: the client's clock, jitter and backoff, its requests and its token state. */
export interface ReporterDeps extends Pick<ResolvedOptions, "now" | "random" | "backoff" | "timeoutMs"> {
  send: (body: ObservationBatch) => Promise<Outcome>;
  isStopped: () => ClientError | undefined;
  onAuthError: (e: ClientError) => void;
  /** A report ignored, and why (the client announces it as a `report_ignored` event: a silent mistake would report nothing forever). */
  onIgnored: (reason: string) => void;
  options: ScoregateClientOptions["observations"];
}

export class ObservationReporter {
  readonly #deps: ReporterDeps;
  readonly #maxQueued: number;
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #maxScores: number;
  readonly #useTimer: boolean;
  readonly #groups = new Map<string, Group>();
  /** Sealed batches awaiting their (next) attempt, oldest first. */
  #batches: Batch[] = [];
  #sending: Promise<SendRun> | undefined;
  /** When the running send loop started its request; a loop whose start no longer matches was given up as lost. */
  #sendingAt = 0;
  #inFlight: Batch | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #clientId: string | undefined;
  #seq = 0;
  #failures = 0;
  #nextAttemptAt = 0;
  readonly #stats: ObservationStats = { queued: 0, sent: 0, droppedForMemory: 0, rejected: 0, ignored: 0 };

  constructor(deps: ReporterDeps) {
    this.#deps = deps;
    const o = deps.options ?? {};
    this.#maxQueued = Math.max(1, o.maxQueued ?? 10_000);
    this.#batchSize = Math.min(MAX_OBSERVATION_QUERIES, Math.max(1, o.batchSize ?? 1000));
    this.#intervalMs = o.flushIntervalMs ?? 5000;
    this.#maxScores = Math.min(MAX_OBSERVATION_SCORES, Math.max(0, o.maxScores ?? 2000));
    this.#useTimer = o.timer ?? true;
  }

  report(o: Observation, waitUntil: ((p: Promise<unknown>) => void) | undefined): void {
    // report(undefined) or report(null) from JavaScript: no target, ignored as any report without one
    o = Object(o);
    const target = toTarget(o);
    // The optional counts' null (from JavaScript: `below: r.below ?? null`) is none, as `abstained`'s and `scores`' is;
    // a null candidates or dropped stays and is refused.
    const { candidates: c, dropped: d } = o;
    const below = o.below ?? d;
    const u = o.unscored ?? 0;
    const why = this.#closed
      ? "closed"
      : this.#deps.isStopped()
        ? "token refused"
        : // a result's null id: the counts were made at the caller's fallback, not at a calibration's threshold
          o.calibrationId === null
          ? "calibrationId null: a fallback's counts"
          : target === null
            ? "promotion: the {id, step, arm} of the answer"
            : target === undefined
              ? "no calibrationId or gate"
              : !([c, d, below, u].every((n) => isCount(n, 0)) && d <= c && below <= c)
                ? "counts: whole numbers, dropped and below <= candidates"
                : c + u > MAX_CANDIDATES_PER_QUERY
                  ? `over ${MAX_CANDIDATES_PER_QUERY} candidates`
                  : // checked before anything is queued: a report is ignored whole or queued whole
                    o.scores != null && typeof o.scores[Symbol.iterator] !== "function"
                    ? "scores: an array of numbers"
                    : "";
    if (why || !target) {
      this.#stats.ignored++;
      this.#deps.onIgnored(why);
      return;
    }
    const key = JSON.stringify(target);
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = { key, target, queries: [], scores: [], createdAt: this.#deps.now() };
      this.#groups.set(key, group);
    }
    // [candidates, dropped], [.., below, abstained] with `below` or `abstained` (true or false: the server's abstention
    // rate counts only the queries that said, so a client saying it only when true would read 100 %), [.., unscored]
    // with unscored candidates (below: dropped, unless given).
    const q = [c, d, below, o.abstained ? 1 : 0, u];
    group.queries.push(q.slice(0, u > 0 ? 5 : o.below == null && o.abstained == null ? 2 : 4) as QueryCounts);
    if (o.scores != null && this.#maxScores > 0) {
      for (const s of o.scores) if (Number.isFinite(s)) group.scores.push(s);
      // Keep the newest scores: the sample is meant to describe current production.
      if (group.scores.length > this.#maxScores) group.scores.splice(0, group.scores.length - this.#maxScores);
    }
    this.#stats.queued++;
    if (group.queries.length >= this.#batchSize) this.#seal(group);
    this.#enforceBound();
    if (this.#nextDue() <= this.#deps.now()) {
      const p = this.#sendDue(false);
      handTo(waitUntil, p);
    } else this.#schedule();
  }

  async flush(): Promise<FlushResult> {
    const ran = await this.#running();
    for (const g of this.#groups.values()) this.#seal(g);
    // After a send it waited for that ended on a timeout or a slow failure, a flush tries nothing more: the next would
    // fail as slowly, and close() would wait two timeouts (the docs' bound is one and a half).
    const r = this.#deps.isStopped() === undefined && !ran?.slow ? await this.#sendDue(true) : { sent: 0, failed: 0 };
    this.#schedule();
    return { sentBatches: r.sent, failedBatches: r.failed, stats: this.stats() };
  }

  async close(): Promise<FlushResult> {
    // closed first: a report made while the flush runs is ignored (closed), never left queued after it
    this.#closed = true;
    const result = await this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return result;
  }

  stats(): ObservationStats {
    return { ...this.#stats };
  }

  // -------------------------------------------------------------------------------------------------------------

  #seal(g: Group): void {
    this.#groups.delete(g.key);
    this.#clientId ??= randomId(this.#deps.random);
    this.#batches.push({ ...g, id: `${this.#clientId}-${++this.#seq}`.slice(0, MAX_BATCH_ID_LENGTH), nextAttemptAt: 0 });
  }

  /** Drops the oldest queries (sealed batches first, then the oldest groups) beyond maxQueued. */
  #enforceBound(): void {
    let excess = this.#stats.queued - (this.#inFlight?.queries.length ?? 0) - this.#maxQueued;
    // The batch being sent is left alone: its body is already on the wire, and the server may count it.
    for (const q of [...this.#batches, ...this.#groups.values()]) {
      if (excess <= 0) break;
      if (q === this.#inFlight) continue;
      const n = Math.min(excess, q.queries.length);
      q.queries.splice(0, n);
      excess -= n;
      this.#settle(n, "droppedForMemory");
      if (q.queries.length === 0) this.#remove(q);
    }
  }

  /** `n` queries leave the queue, counted under `outcome`. */
  #settle(n: number, outcome: "sent" | "rejected" | "droppedForMemory"): void {
    this.#stats[outcome] += n;
    this.#stats.queued -= n;
  }

  /**
   * When something is next due: the oldest group's age reaching the flush interval or a batch's retry time, never
   * before the backoff after the last failure; Infinity with nothing queued.
   */
  #nextDue(): number {
    let at = Infinity;
    for (const g of this.#groups.values()) at = Math.min(at, g.createdAt + this.#intervalMs);
    for (const b of this.#batches) at = Math.min(at, b.nextAttemptAt);
    return Math.max(at, this.#nextAttemptAt);
  }

  /** A timer for the next due moment (Node and browsers); unref'd, so it never keeps a process alive. */
  #schedule(): void {
    if (!this.#useTimer || this.#closed || this.#timer !== undefined || this.#deps.isStopped() !== undefined) return;
    const at = this.#nextDue();
    if (at === Infinity) return;
    this.#timer = startTimer(
      () => {
        this.#timer = undefined;
        void this.#sendDue(false);
      },
      Math.max(0, at - this.#deps.now()),
    );
  }

  /**
   * The running send loop, unless its request is older than its own timeout (+1 s): then it is lost (its initiator
   * was cancelled and its promise may never settle, as in workerd) and given up; its batch stays queued with its batch
   * id, so a retry is counted once by the server.
   */
  #running(): Promise<SendRun> | undefined {
    if (this.#deps.now() - this.#sendingAt > this.#deps.timeoutMs + 1000) {
      this.#sending = undefined;
      this.#sendingAt = -1;
    }
    return this.#sending;
  }

  /** Seals due groups and sends due batches one at a time; single flight. Reschedules once done (a batch sealed meanwhile). */
  #sendDue(force: boolean): Promise<SendRun> {
    const running = this.#running();
    if (running !== undefined) return running;
    const p = this.#sendLoop(force).finally(() => {
      if (this.#sending === p) this.#sending = undefined;
      this.#schedule();
    });
    this.#sending = p;
    return p;
  }

  async #sendLoop(force: boolean): Promise<SendRun> {
    let at = 0;
    let sent = 0;
    let failed = 0;
    let unanswered = 0;
    let slow = false;
    const now = this.#deps.now();
    for (const g of this.#groups.values()) if (force || now - g.createdAt >= this.#intervalMs) this.#seal(g);
    for (const batch of [...this.#batches]) {
      if (this.#deps.isStopped() !== undefined) break;
      if (!force && (this.#deps.now() < this.#nextAttemptAt || this.#deps.now() < batch.nextAttemptAt)) continue;
      if (batch.queries.length === 0) {
        this.#remove(batch);
        continue;
      }
      const body = { batch_id: batch.id, ...batch.target, queries: batch.queries } as ObservationBatch;
      if (batch.scores.length > 0) body.scores = batch.scores;
      const n = batch.queries.length;
      this.#inFlight = batch;
      this.#sendingAt = at = this.#deps.now();
      const outcome = await this.#deps.send(body);
      // Given up as lost meanwhile: the loop that replaced it owns the queue.
      if (this.#sendingAt !== at) break;
      this.#inFlight = undefined;
      unanswered = outcome.kind === "failed" ? unanswered + 1 : 0;
      const t = this.#deps.now();
      if (outcome.kind === "response" && outcome.response.status >= 200 && outcome.response.status < 300) {
        this.#remove(batch);
        this.#settle(n, "sent");
        this.#failures = 0;
        this.#nextAttemptAt = 0;
        sent++;
        continue;
      }
      failed++;
      const error =
        outcome.kind === "failed"
          ? outcome.error
          : describeFailure(outcome.response.status, outcome.body, parseRetryAfter(outcome.response.headers.get("retry-after"), t));
      this.#stats.lastError = error;
      if (error.code === "unauthorized" || error.code === "forbidden") {
        this.#deps.onAuthError(error);
        this.#rejectAll();
        break;
      }
      const retriable = outcome.kind === "failed" || error.code === "rate_limited" || error.code === "server_error";
      if (!retriable) {
        // 400, 404 uncalibrated, 422: the same batch would be refused again.
        this.#remove(batch);
        this.#settle(n, "rejected");
        continue;
      }
      this.#failures++;
      const delay = backoffDelay(this.#deps.backoff, this.#failures, this.#deps.random, error.retryAfterMs);
      batch.nextAttemptAt = t + delay;
      this.#nextAttemptAt = t + delay;
      // A flush goes on after a fast 5xx or 429 (batches of different gates reach different monitors) and after one
      // fast network error (a stale keep-alive connection, at shutdown after a long idle), not after a timeout, a
      // failure (an answer or an error) that took half the timeout or more, or a second unanswered batch in a row: the
      // next would fail too, and close() would wait about one timeout per batch.
      slow = t - at >= this.#deps.timeoutMs / 2 || error.code === "timeout";
      if (!force || slow || (outcome.kind === "failed" && unanswered > 1)) break;
    }
    return { sent, failed, slow };
  }

  /** Takes a sealed batch out of the send queue, or a group out of the pending map. */
  #remove(q: Group): void {
    // A batch is a copy of its group, so it is never the map's value: a batch removed twice leaves the group alone.
    if (this.#groups.get(q.key) === q) this.#groups.delete(q.key);
    const i = this.#batches.indexOf(q as Batch);
    if (i >= 0) this.#batches.splice(i, 1);
  }

  #rejectAll(): void {
    let n = 0;
    for (const q of [...this.#batches, ...this.#groups.values()]) n += q.queries.length;
    this.#batches = [];
    this.#groups.clear();
    this.#settle(n, "rejected");
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** What a send loop did: batches sent and failed, and whether it stopped on a timeout or a slow failure. */
interface SendRun {
  sent: number;
  failed: number;
  slow?: boolean;
}

/** The arms a claim may name (each checked against the contract's `PromotionArm`; a list: fewer bytes than a record). */
const ARMS: readonly unknown[] = ["candidate", "control", "unassigned"] satisfies PromotionArm[];

/**
 * Where a query's counts go: its calibration (or gate), and its role and promotion arm, each batch one target;
 * undefined without a calibration or gate, null for a promotion claim the server would refuse (null is none).
 */
function toTarget(o: Observation): Target | undefined | null {
  let t: Target;
  if (typeof o.calibrationId === "string" && o.calibrationId !== "") t = { calibration_id: o.calibrationId };
  else {
    const g: GateKey | undefined = o.gate;
    if (!isGateKey(g)) return undefined;
    t = wireGate(g) as Target;
  }
  if (o.role === "shadow") t.role = "shadow";
  const p = o.promotion;
  if (p != null) {
    if (!(typeof p.id === "string" && p.id && isCount(p.step, 0) && ARMS.includes(p.arm) && !t.role)) return null;
    t.promotion = { id: p.id, step: p.step, arm: p.arm };
  }
  return t;
}

/** 12 base-36 characters; drawn lazily on the first batch (workerd refuses randomness at module scope). */
function randomId(random: () => number): string {
  let s = "";
  for (let i = 0; i < 12; i++) s += Math.floor(random() * 36).toString(36);
  return s;
}
