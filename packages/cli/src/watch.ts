/**
 * `scoregate watch`: prints a gate's pushed changes as they happen, one line each (NDJSON with --json), through the
 * SDK's stream (GET /v1/events): it resumes with Last-Event-ID after a reconnect and says so, so a gap would show.
 * When the server's event history restarts (its seq goes back: a deleted local state, a restored database) it says so
 * and shows the new history from its current state. A server not reached yet is named once, then retried.
 * Runs until interrupted (exit 0); a refused token or an unknown gate exits 2.
 */
import { eventsUrl, type GateEvent, GateStream, HISTORY_RESTARTED } from "@scoregate/client/stream";
import { countFlag, gateFlags, usage } from "./args";
import type { Ctx } from "./context";
import { EXIT } from "./decision";
import { num as number, percent } from "./format";
import { aToken, CliError, UNREACHABLE_HINT } from "./http";

/** The cause a promotion event's details carry (src/promotions: `{cause, ...numbers}`), or null. */
const causeOf = (e: GateEvent): string | null => (typeof e.details?.cause === "string" ? e.details.cause : null);

/** A shadow event's sample rate from its details, as a percentage, or null. */
const sampleRateOf = (e: GateEvent): string | null => (typeof e.details?.sample_rate === "number" ? percent(e.details.sample_rate) : null);

/**
 * What an event did, in words: the calibration it is about (`calibration_id`: the one activated, put in shadow or
 * promoted) and the numbers its kind carries; a pause or a rollback says why. Null when the served calibration after
 * it says it all (an activation).
 */
function whatHappened(e: GateEvent): string | null {
  const promotion = e.promotion === null ? "" : `promotion ${e.promotion.id}: `;
  const rate = sampleRateOf(e);
  switch (e.kind) {
    case "activation":
      return null;
    case "shadow_added":
      return `shadow ${e.calibration_id} added${rate === null ? "" : `, ${rate} of queries mirrored`}`;
    case "shadow_changed":
      return `shadow ${e.calibration_id}${rate === null ? " changed" : ` now mirrors ${rate} of queries`}`;
    case "shadow_removed":
      return `shadow ${e.calibration_id} removed`;
    case "promotion_started":
    case "promotion_step":
    case "promotion_resumed":
      return `${promotion}${e.calibration_id} on ${e.promotion?.percent ?? "?"} % of keyed traffic (step ${(e.promotion?.step ?? 0) + 1})`;
    case "promotion_paused":
    case "promotion_rolled_back":
    case "promotion_superseded":
      return `${promotion}${e.calibration_id} ${e.kind.slice("promotion_".length).replace("_", " ")}, cause ${causeOf(e) ?? "not stated"}`;
    case "promotion_completed":
      // the candidate's activation: the served calibration after it is the candidate
      return e.promotion === null ? null : `promotion ${e.promotion.id} completed`;
    default:
      return `${e.calibration_id}`;
  }
}

/**
 * One event as a line: seq, kind, what it did (the shadow added, the promotion's step, a rollback's cause), what is
 * served after it (calibration, threshold, split), and the reason given.
 */
export function eventLine(e: GateEvent, snapshot: boolean): string {
  const what = whatHappened(e);
  const threshold = e.served === null ? "nothing served" : `${e.served.calibration_id} threshold ${number(e.served.threshold)}`;
  const rollout = e.served?.rollout;
  const split = rollout ? ` split ${rollout.percent_bp / 100} % to ${rollout.candidate.calibration_id} (${rollout.state})` : "";
  const served = what === null ? `${threshold}${split}` : `${what}; serving ${threshold}${split}`;
  return `${snapshot ? "-- snapshot\n" : ""}${e.seq} ${e.kind.padEnd(21)} ${served}${e.reason ? `  reason: ${e.reason}` : ""}`;
}

/** The longest wait between two reconnects while the server is down. */
const WATCH_MAX_BACKOFF_MS = 15_000;
/** The wait before the stream is tried again after a 429 without Retry-After. */
const WATCH_RETRY_MS = 30_000;

/** Said once when the server's event history restarts; its snapshot follows. */
export const HISTORY_RESTARTED_LINE = "-- the server's event history restarted (a new state?); showing its current state";

/** A long period for the timer that keeps `watch` alive (it never fires a callback that matters). */
const KEEP_ALIVE_MS = 60 * 60 * 1000;

export async function watch(c: Ctx): Promise<number> {
  if (c.positionals.length > 0)
    throw usage("watch takes no arguments: scoregate watch --embedding E --reranker R [--index I] | --gate ID [--since SEQ]");
  const since = countFlag(c.v.since, "--since", 0, Number.MAX_SAFE_INTEGER, "an event seq (a whole number)");
  const api = c.api();
  let url: string;
  let names: ReturnType<typeof gateFlags> | null = null;
  if (c.v.gate !== undefined) {
    if (c.v.embedding !== undefined || c.v.reranker !== undefined) throw usage("--gate and --embedding/--reranker name the gate twice: give one");
    url = api.url("streamGateEvents", { gate_id: c.v.gate }).toString();
  } else {
    const g = gateFlags(c.v, true);
    names = g;
    url = eventsUrl(api.baseUrl, { embedding: g.embedding!, reranker: g.reranker!, ...(g.index === undefined ? {} : { index: g.index }) });
  }
  const origin = new URL(url).origin;
  const signal = c.io.signal;
  // The stream waits between reconnects on unref'd timers (a service's stream must never hold its process open); the
  // command is that process, and it runs until ^C: this timer holds it while nothing else does (the server down).
  const alive = setInterval(() => {}, KEEP_ALIVE_MS);
  return await new Promise<number>((resolve, reject) => {
    let opened = false;
    /** Said could-not-reach while no connection has opened yet (once, not on every retry). */
    let unreached = false;
    /** Said connection-lost since the last open (once an outage, not on every retry). */
    let lost = false;
    /** The reconnect that fetches a restarted history's state: no "connection lost" / "reconnected" lines for it. */
    let restarting = false;
    /** An event was printed: a seq going back before that is `--since` past the server's newest, not a restart seen. */
    let printed = false;
    const stream = new GateStream({
      url,
      headers: () => api.headers(),
      fetch: c.io.fetch ?? fetch,
      after: since ?? null,
      // A service's stream falls back to polling after a few failures; watch has nothing to poll and runs until ^C,
      // so a server that is down is retried (backoff up to WATCH_MAX_BACKOFF_MS) however long it stays down, and a
      // 429 is waited out (WATCH_RETRY_MS, or the server's Retry-After)
      maxFailures: Number.POSITIVE_INFINITY,
      backoff: c.io.watchBackoff ?? { maxMs: WATCH_MAX_BACKOFF_MS },
      recoveryMs: c.io.watchRetryMs ?? WATCH_RETRY_MS,
      onEvent: (e, snapshot) => {
        printed = true;
        c.out(c.json ? JSON.stringify(snapshot ? { snapshot: true, ...e } : e) : eventLine(e, snapshot));
      },
      onRestart: (r) =>
        c.warn(
          printed ? HISTORY_RESTARTED_LINE : `-- the server's newest event is ${r.headSeq}, before --since ${r.lastSeq}; showing its current state`,
        ),
      onState: (state, d) => {
        if (state === "open") {
          if (unreached) c.warn(`-- connected to ${origin}`);
          else if (opened && !restarting) c.warn(`-- reconnected, resumed after ${d.after ?? "nothing"}`);
          opened = true;
          unreached = false;
          lost = false;
          restarting = false;
        } else if (state === "reconnecting" && d.reason.startsWith(HISTORY_RESTARTED)) {
          // the stream reconnects at once for the new history's state: HISTORY_RESTARTED_LINE said it
          restarting = true;
        } else if (state === "reconnecting" && !opened) {
          // the words every other command says when the server cannot be reached, once, then quiet retries
          if (!unreached && d.status === undefined) {
            // the network error's cause alone ("ECONNREFUSED"), as the other commands print it; else the reason
            c.warn(`scoregate: could not reach ${origin} (${/^fetch failed \((.+)\)$/u.exec(d.reason)?.[1] ?? d.reason})`);
            c.warn(`  ${UNREACHABLE_HINT}`);
          } else if (!unreached) c.warn(`scoregate: ${origin} answered ${d.reason}`);
          if (!unreached) c.warn("  retrying until it answers (^C stops)");
          unreached = true;
        } else if (state === "reconnecting") {
          // the restart's own reconnect failed: the next open is a resume like any other, said as one
          restarting = false;
          // once an outage, as the unreached branch says it: the retries then go on quietly until the next open
          if (!lost) c.warn(`-- connection lost (${d.reason}); reconnecting`);
          lost = true;
        } else if (state === "polling" && d.status === 429) {
          // the restart's own reconnect refused: the next open is a resume like any other, said as one
          restarting = false;
          c.warn(`-- ${d.reason.replace(/: polling instead$/u, "")}; retrying the stream later`);
        } else if (state === "polling") {
          // watch has nothing to poll: a route the server lacks, or a gate it does not know, ends the command
          stream.close();
          // the stream's reason holds the server's own words when it gave some ("404 not_found: no gate ...; did you mean ...?")
          const why = d.reason.replace(/: polling instead$/u, "");
          const said = why !== String(d.status);
          const failure = new CliError(
            said ? `cannot watch this gate: ${why}` : `${why}: the server does not stream this gate`,
            d.status === 404 ? EXIT.usage : EXIT.failure,
            "unreachable",
            said
              ? ["scoregate gates lists every gate"]
              : ["check the gate (scoregate gates lists them) and that the server is a version with pushed changes"],
          );
          // a gate named by its models that the server does not know: its history's 404 names the gates it may mean
          if (d.status === 404 && names !== null) {
            const g = names;
            api.request("listCalibrations", { query: { ...g, limit: 1 } }).then(
              () => reject(failure),
              (e: unknown) => reject(e instanceof CliError && e.code === "not_found" ? e : failure),
            );
          } else reject(failure);
        } else if (state === "stopped" && d.status !== undefined) {
          reject(
            // the words of the other commands' refusals (http.ts hint)
            d.status === 401
              ? new CliError("401 unauthorized: the token is missing or unknown", EXIT.usage, "unauthorized", [
                  `set SCOREGATE_TOKEN (or --token) to a token of this server: watch needs ${aToken("read")} (locally: dev-read)`,
                ])
              : new CliError(`${d.status} forbidden: this token's scope does not allow it`, EXIT.usage, "forbidden", [
                  `watch needs ${aToken("read")} (locally: dev-read)`,
                ]),
          );
        }
      },
    });
    signal?.addEventListener("abort", () => {
      stream.close();
      resolve(EXIT.ok);
    });
    stream.start();
  }).finally(() => clearInterval(alive));
}
