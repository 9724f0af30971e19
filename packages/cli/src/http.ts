/**
 * The CLI's HTTP: fetch with a timeout, the route table's paths, and every failure turned into a CliError that says
 * what to do, with the exit code of its kind (2 for the caller's input, 1 for the network or the server).
 * Kept behind `Api` so the CLI could later sit on the client SDK without touching the commands.
 */
import { z } from "zod";
import { API_VERSION, API_VERSION_HEADER, ErrorResponse, ROUTES } from "../../../src/contract";
import { version } from "../package.json";
import { EXIT } from "./decision";
import { count, num, percent, reachableTarget } from "./format";
import { gateSuggestionLines } from "./suggest";

/** What a command that cannot reach the server suggests (watch says it too, before its quiet retries). */
export const UNREACHABLE_HINT =
  "is the server running and the URL right? set --url or SCOREGATE_URL (locally: npm start serves http://localhost:8787)";

/** What the CLI calls itself in `User-Agent`. */
const USER_AGENT = `scoregate-cli/${version}`;

/**
 * The codes of the failures the CLI finds itself, before or without a scoregate answer. The server's own codes
 * (src/contract/errors.ts) are passed on as the server sent them.
 */
export const CLI_ERROR_CODES = [
  /** flags, arguments or the environment (no token, a bad URL) */
  "usage",
  /** the score file: missing, unreadable, bad rows, several score or query columns, over the size limit */
  "invalid_file",
  /** the scores cannot be sent as asked (over the body limit, unequal queries with --float32) */
  "invalid_upload",
  /** no connection to the server */
  "unreachable",
  /** no answer within --timeout */
  "timeout",
  /** an answer that is not scoregate's (not JSON, a 2xx body of another shape, or an error without the error envelope) */
  "invalid_response",
  /** anything else: a bug in the CLI */
  "cli_bug",
] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** What the server answered when it refused: its status, and its error envelope's fields where it sent one. */
export interface ServerRefusal {
  status: number;
  /** The envelope's code, null when the answer had no envelope. */
  code: string | null;
  message: string;
  details?: unknown;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** The server's error code when it gave one, else the CLI's own (CLI_ERROR_CODES). */
    readonly code: string,
    /** What to do: the server's field problems, then hints, one per line. */
    readonly hints: readonly string[] = [],
    /** The server's refusal, for --json. */
    readonly server?: ServerRefusal,
    /**
     * True when the request never left this machine (the connection was refused, the name did not resolve: notSent),
     * so the server stored or applied nothing; false when it may have reached the server (an answer, a timeout, a
     * connection dropped after sending).
     */
    readonly notSent = false,
  ) {
    super(message);
  }
}

export interface ApiOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

type RouteName = keyof typeof ROUTES;

/**
 * A refusal because the request's Idempotency-Key is busy: its first request is still running (or, for an upload,
 * committed meanwhile), so the same request with the same key is safe to send again and gets the first one's answer.
 * The server says so with 409 `idempotency_in_progress`; a server from before that code said 409 `conflict` with the
 * Idempotency-Key named in its message, which is still read as the same thing, since this CLI may talk to an older
 * server. Any other 409 is the state's answer, which a retry would only get again.
 */
export const keyStillRunning = (server: ServerRefusal): boolean =>
  server.status === 409 && (server.code === "idempotency_in_progress" || (server.code === "conflict" && server.message.includes("Idempotency-Key")));

/**
 * The error envelope with any code: a newer server may send a code this CLI does not know yet, and its code and
 * message are still the best account of the refusal.
 */
const AnyErrorResponse = z.object({ error: ErrorResponse.shape.error.extend({ code: z.string() }) });

/**
 * The network errors (their `code`) that come before a byte of the request is sent: a refused connection, a name that
 * does not resolve, no route to the host, a connect timeout, a TLS certificate refused during the handshake. After any
 * other failure (a timeout waiting for the answer, a connection reset after sending) the server may have received the
 * request and stored it.
 */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EAI_NONAME",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * Whether a fetch failure's cause is one of NOT_SENT_CODES: Node's fetch puts the socket's error in `cause`, and a
 * host with several addresses (localhost: ::1 and 127.0.0.1) fails with an AggregateError of one error each, every
 * one of which must be such a code.
 */
export function notSentCause(cause: unknown): boolean {
  if (typeof cause !== "object" || cause === null) return false;
  const c = cause as { code?: unknown; errors?: unknown; message?: unknown };
  // fetch refuses a port it blocks (1, 25, ...) before connecting, with this message and no code
  if (c.code === undefined && c.message === "bad port") return true;
  const codes = [c.code, ...(Array.isArray(c.errors) ? c.errors.map((e: unknown) => (e as { code?: unknown } | null)?.code) : [])].filter(
    (x) => x !== undefined,
  );
  return codes.length > 0 && codes.every((x) => typeof x === "string" && NOT_SENT_CODES.has(x));
}

/** A number from an error's details as `show` prints it; anything else as it came. */
const detail = (x: unknown, show: (n: number) => string): string => (typeof x === "number" ? show(x) : String(x));

/** A 409 conflict's hint when nothing more is known about the state that refused the change. */
export const GENERIC_STATE_HINT = "the server refused the change because of the current state";

/** What each error code means for someone at a terminal, and what to do about it. */
function hint(code: string, status: number, route: RouteName, details: unknown, message = "", params: Record<string, string> = {}): string | null {
  const d = (typeof details === "object" && details !== null && !Array.isArray(details) ? details : {}) as Record<string, unknown>;
  switch (code) {
    case "unauthorized":
      return "the token is missing or unknown: set SCOREGATE_TOKEN (or --token) to a token of this server (locally: dev-read, dev-calibrate, dev-admin)";
    case "forbidden": {
      const scope = ROUTES[route].scope;
      return `this token's scope does not allow it: ${route === "createCalibration" ? "calibrate" : route === "activateCalibration" ? "activate" : "this command"} needs ${aToken(scope ?? "read")} (locally: dev-${scope ?? "read"})`;
    }
    case "uncalibrated": {
      // a version the gate does not serve: the gate exists, and the server named its active versions
      const versions = Array.isArray(d.suggestions)
        ? (d.suggestions as { index_version?: unknown }[]).flatMap((s) => (typeof s?.index_version === "string" ? [s.index_version] : []))
        : [];
      if (versions.length > 0)
        return `that --index-version has no active calibration on this gate; its active versions: ${versions.join(", ")} (scoregate history lists every calibration)`;
      return "the gate has no active calibration: check --index, --embedding and --reranker (scoregate gates lists them), or calibrate it with scoregate calibrate";
    }
    case "not_found":
      return route === "activateCalibration" || route === "getCalibration"
        ? "no calibration has that id: scoregate history --index I --embedding E --reranker R lists a gate's calibrations"
        : route === "listCalibrations" || route === "listAlerts" || route === "getMonitor"
          ? "no such gate: check --index, --embedding and --reranker (scoregate gates lists the gates)"
          : route === "getPromotion"
            ? "no promotion has that id: scoregate promotion cal_... finds one by the calibration it promotes, and scoregate threshold --index I --embedding E --reranker R shows a gate's open promotion"
            : "the server does not know it: check the ids (scoregate gates lists the gates)";
    case "too_few_scores":
      // an abstention rate is fitted on the queries' top scores: its minimum is in queries
      return d.unit === "queries"
        ? `an abstention rate of ${detail(d.target, percent)} needs at least ${detail(d.minimum_n, count)} queries, the file has ${detail(d.n, count)}: lower --abstain-rate or upload more queries`
        : `a target drop rate of ${detail(d.target, percent)} needs at least ${detail(d.minimum_n, count)} scores, the file has ${detail(d.n, count)}: lower --target or upload more scores`;
    case "target_unreachable":
      return unreachableHint(d);
    case "too_few_labelled_queries":
      return `a recall target of ${detail(d.target, percent)} (${String(d.coverage)}) needs at least ${detail(d.minimum_queries, count)} labelled queries with a relevant candidate, the upload has ${detail(d.labelled_queries, count)} (and ${detail(d.queries_without_relevant, count)} without one, which count for nothing here): lower --recall or label more queries`;
    case "too_few_answerable_queries":
      return `a false-abstention level of ${detail(d.alpha, percent)} needs at least ${detail(d.minimum_queries, count)} answerable queries, the upload has ${detail(d.answerable_queries, count)} (and ${detail(d.unanswerable_queries, count)} unanswerable): raise the level or upload more answerable queries`;
    case "unknown_reference":
      return activeReference(details)
        ? "--carry carries from the gate's active calibration (--reference active), and this gate has none: check --index, --embedding and --reranker; to carry across an embedding or reranker change (a new gate), pass the old gate's calibration with --reference cal_...; or use --target (scoregate history --index I --embedding E --reranker R lists a gate's calibrations, scoregate gates the gates)"
        : "no calibration has that --reference id: scoregate history --index I --embedding E --reranker R lists a gate's calibrations; or use --target";
    case "payload_too_large":
      // the server's message states the limit already
      return "upload fewer scores in one calibration, or pass --float32 (4 bytes a score; flat scores or equal-size queries)";
    case "idempotency_mismatch":
      return "this --idempotency-key was used for a different upload: use a new key for a new upload";
    case "idempotency_in_progress":
      // a new key would do it a second time once the first request finishes
      return "the first request with this --idempotency-key is still running on the server: run the same command again with the same --idempotency-key in a moment to get its answer";
    case "conflict":
      return status === 409 && route === "createCalibration"
        ? "other activations of the gate won while the upload was computed (nothing was stored), or an upload with this --idempotency-key is still running: run it again with the same --idempotency-key"
        : (stateHint(route, message, d, params) ?? GENERIC_STATE_HINT);
    case "misconfigured":
      return "the server is misconfigured (production without tokens, or with the local dev tokens): its operator must fix it";
    case "invalid_input":
      // labels other than 0/1 without relevant_at: the CLI's flag for it
      if (Array.isArray(details) && details.some((x) => /relevant_at/u.test(String((x as { message?: unknown }).message))))
        return "graded relevance labels: pass --relevant-at X (a label at or above X is relevant)";
      return "the server refused the request as invalid: see the problems listed";
    case "bad_request":
    case "malformed_json":
      return "the server refused the request as invalid: see the problems listed";
    default:
      return null;
  }
}

/**
 * What to do about a promotion's 409 that is the state's answer (src/promotions/service.ts words them: "promotion ID
 * is STATE: it cannot ACTION", "calibration ID is already the gate's current calibration", "the gate serves no
 * calibration yet", "the gate already has an open promotion (ID, STATE, of CANDIDATE)" with `details.promotion_id`),
 * read from the server's message; null for any other, which keeps the generic hint. `params`: the request's path
 * parameters (a start's `id`, the calibration it promotes).
 */
function stateHint(route: RouteName, message: string, details: Record<string, unknown>, params: Record<string, string>): string | null {
  const override = /^promotion (\S+) is (\w+): it cannot (\w+)/u.exec(message);
  if (override !== null) {
    const [, id, state, action] = override as unknown as [string, string, string, string];
    if (state === "paused" && action === "pause") return `it is already paused: scoregate promote ${id} --resume continues it, --rollback ends it`;
    if (state === "running" && action === "resume")
      return `it is already running: nothing to resume (scoregate promote ${id} --pause pauses it, scoregate promotion ${id} prints it)`;
    if (state !== "running" && state !== "paused")
      return `it has ended (${state.replace("_", " ")}): nothing to ${action}; scoregate promotion ${id} prints how it ended, scoregate promote CAL starts a new one`;
    return null;
  }
  if (route === "promoteCalibration") {
    if (/already has an open promotion/u.test(message)) return openPromotionHint(message, details, params.id);
    if (/is already the gate's current calibration/u.test(message))
      return "it is already served to everyone: nothing to promote (scoregate threshold --index I --embedding E --reranker R shows what the gate serves)";
    if (/serves no calibration yet/u.test(message))
      return "a promotion compares a candidate with what the gate serves: serve a calibration first (scoregate activate ID)";
  }
  return null;
}

/**
 * A start refused because the gate has an open promotion: the server names it (`details.promotion_id`, and in its
 * message its state and candidate) when it could read it. Of the calibration being promoted (`promoted`), it is most
 * likely an earlier run's start (a pipeline step rerun after it was cancelled once the request was sent): its key gets
 * that run's answer. Of another calibration, it is another promotion, which has to end before this one starts.
 */
function openPromotionHint(message: string, details: Record<string, unknown>, promoted: string | undefined): string {
  const named = /already has an open promotion \((prm_[0-9a-z]+), (\w+), of ([^\s)]+)\)/u.exec(message);
  const id =
    typeof details.promotion_id === "string" ? details.promotion_id : (/already has an open promotion \((prm_[0-9a-z]+)/u.exec(message)?.[1] ?? null);
  if (id === null)
    return "it may have ended since the start was refused: run the command again (scoregate threshold --index I --embedding E --reranker R shows the gate's open promotion)";
  const candidate = named?.[3];
  const state = named?.[2];
  const act =
    state === "paused"
      ? `scoregate promote ${id} --resume continues it, scoregate promote ${id} --rollback ends it`
      : `scoregate promotion ${id} --wait SECONDS waits for its outcome, scoregate promote ${id} --rollback ends it`;
  if (candidate !== undefined && promoted !== undefined && candidate === promoted)
    return `an earlier run's promotion of ${promoted}? ${act}; a rerun of the same step passes the first run's --idempotency-key to get its answer`;
  if (candidate !== undefined)
    return `the open promotion ${id} promotes ${candidate}, not ${promoted ?? "this calibration"}: a gate runs one promotion at a time; scoregate promotion ${id} prints it, ${act}; then start this one again`;
  // an older server's message without the candidate: which calibration it promotes is read with the promotion
  return `scoregate promotion ${id} prints the open promotion and the calibration it promotes: if it is an earlier run's start of this one, a rerun passes the first run's --idempotency-key to get its answer; ${act}`;
}

/**
 * Whether an unknown_reference is about `--reference active` (the gate has no active calibration) rather than an
 * unknown id: the server names `policy.reference` (in `details` since it adds suggestions, in `details[0]` before).
 */
function activeReference(details: unknown): boolean {
  const paths = (Array.isArray(details) ? details : [details]).map((x) =>
    typeof x === "object" && x !== null ? (x as { path?: unknown }).path : null,
  );
  return paths.includes("policy.reference");
}

/**
 * The server's message of an unknown_reference without its advice to API callers, which names JSON fields
 * (`{"calibration_id": "..."}`) a CLI user never writes: the hint says it with flags instead.
 */
const withoutJsonAdvice = (message: string): string => message.replace(/[.;]? To carry a threshold .*\{"calibration_id".*$/u, "");

/**
 * What to do about a target_unreachable (docs/api.md): guards that put the drop-rate target out of reach (`bound`,
 * with the reachable targets `(lowest_target, highest_target]`), scores tied at the bottom, or an abstention rate whose
 * lowest top scores tie (`unit: "queries"`).
 */
function unreachableHint(d: Record<string, unknown>): string {
  if (d.bound === "max_keep" || d.bound === "min_keep") {
    const lowest = typeof d.lowest_target === "number" ? d.lowest_target : null;
    const range = `reachable targets on these queries are above ${detail(d.lowest_target, percent)} and up to ${detail(d.highest_target, percent)}${lowest === 0 ? " (or 0)" : ""}`;
    return d.bound === "max_keep"
      ? `--max-keep ${String(d.max_keep)} drops more than the target at every threshold (${range}): raise --max-keep (or the target)`
      : `--min-keep ${String(d.min_keep)} keeps too much for the target (${range}): lower --min-keep (or the target)`;
  }
  if (d.lost !== undefined) {
    // for candidates coverage `lost` is a pooled loss (shares of queries' relevant candidates, summed), not a count
    const lost =
      d.coverage === "candidates"
        ? `${detail(d.lost, num)} queries' worth of relevant candidates of the ${detail(d.labelled_queries, count)} labelled queries (each query counts the share of its relevant candidates ranked beyond the cap)`
        : `the relevant candidates of ${detail(d.lost, count)} of ${detail(d.labelled_queries, count)} labelled queries`;
    return `--max-keep ${String(d.max_keep)} cuts off ${lost} at every threshold: raise --max-keep, or lower --recall${typeof d.highest_target === "number" ? ` (these guards allow --recall up to ${reachableTarget(d.highest_target)})` : " (no target is reachable with this cap)"}`;
  }
  if (d.unit === "queries")
    return "the lowest top scores of the queries are tied, so no cutoff makes any query abstain: leave out --abstain-rate, or check the score column (--score-column)";
  const above =
    typeof d.lowest_target === "number" ? `, or ask for more than ${percent(d.lowest_target)} (what the tie drops, with the cap's share)` : "";
  return `the lowest scores a threshold decides are tied at the minimum, and a gate keeps scores equal to its threshold, so none of them can be dropped alone: check the score column (--score-column)${above}`;
}

/** "a read token", "an admin token". */
export const aToken = (scope: string): string => `${/^[aeiou]/u.test(scope) ? "an" : "a"} ${scope} token`;

/**
 * The gates a refusal suggests (an uncalibrated 404's `details.suggestions`) as hint lines with the flags that name
 * them, and the server's message without its pointers to `details`, which a person at a terminal never sees (--json
 * keeps the server's message and details as sent).
 */
function suggestions(message: string, details: unknown): { message: string; lines: string[] } {
  const list =
    typeof details === "object" && details !== null && !Array.isArray(details) ? (details as Record<string, unknown>).suggestions : undefined;
  const flags = gateSuggestionLines(list);
  const bare = message.replace(/ \(see details\.[\w.]+\)/gu, "");
  if (flags.length === 0) return { message: bare, lines: [] };
  const versions = (list as unknown[]).every((x) => typeof x === "object" && x !== null && "index_version" in x);
  return {
    // the server names the suggestions in its own terms ("did you mean index=docs?", "... are in details.suggestions"):
    // the lines below name them as flags instead
    message: bare.replace(/; (?:its active versions: )?did you mean .*$|; calibrated gates with similar names are in details\.suggestions$/u, ""),
    lines: [versions ? "its active index versions, as flags:" : "calibrated gates with similar names, as flags:", ...flags.map((f) => `  ${f}`)],
  };
}

function detailLines(details: unknown): string[] {
  if (Array.isArray(details)) {
    return details.slice(0, 20).map((x) => {
      const o = x as { path?: unknown; message?: unknown };
      return `${String(o.path ?? "")}: ${String(o.message ?? "")}`;
    });
  }
  return [];
}

export class Api {
  private readonly fetchImpl: typeof fetch;
  constructor(private readonly opts: ApiOptions) {
    this.fetchImpl = opts.fetch ?? fetch;
  }

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  /** The headers of every request: the token and the CLI's User-Agent. */
  headers(): Record<string, string> {
    return { Authorization: `Bearer ${this.opts.token}`, "User-Agent": USER_AGENT };
  }

  url(route: RouteName, params: Record<string, string> = {}, query: Record<string, string | number | boolean | undefined> = {}): URL {
    const path = ROUTES[route].path.replace(/\{(\w+)\}/gu, (_, k: string) => encodeURIComponent(params[k] ?? ""));
    const u = new URL(path, this.opts.baseUrl.endsWith("/") ? this.opts.baseUrl : `${this.opts.baseUrl}/`);
    // keep a base path (https://host/scoregate/) in front of the route's absolute path
    const base = new URL(this.opts.baseUrl);
    if (base.pathname !== "/" && base.pathname !== "") u.pathname = base.pathname.replace(/\/$/u, "") + path;
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  async request<T>(
    route: RouteName,
    init: {
      params?: Record<string, string>;
      query?: Record<string, string | number | boolean | undefined>;
      body?: string | ReadableStream<Uint8Array> | null;
      headers?: Record<string, string>;
      okStatuses?: number[];
    } = {},
  ): Promise<ApiResponse<T>> {
    const spec = ROUTES[route];
    const url = this.url(route, init.params, init.query);
    const headers: Record<string, string> = {
      Accept: "application/json",
      Authorization: `Bearer ${this.opts.token}`,
      "User-Agent": USER_AGENT,
      ...init.headers,
    };
    let res: Response;
    try {
      const req: RequestInit & { duplex?: "half" } = {
        method: spec.method.toUpperCase(),
        headers,
        body: init.body ?? null,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      };
      // a streamed request body needs half-duplex in Node's fetch
      if (init.body instanceof ReadableStream) req.duplex = "half";
      res = await this.fetchImpl(url, req);
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === "TimeoutError" || err.name === "AbortError")
        throw new CliError(`no answer from ${url.origin} within ${this.opts.timeoutMs / 1000} s`, EXIT.failure, "timeout", [
          "the server may be overloaded or the upload large: retry, or raise --timeout",
        ]);
      const cause = err.cause?.code ?? err.cause?.message ?? err.message;
      throw new CliError(
        `could not reach ${url.origin} (${cause})`,
        EXIT.failure,
        "unreachable",
        [UNREACHABLE_HINT],
        undefined,
        notSentCause(err.cause),
      );
    }
    const okStatuses = init.okStatuses ?? [200, 201, 202];
    if (okStatuses.includes(res.status)) {
      const text = res.status === 304 ? "" : await res.text();
      let body: unknown = null;
      if (text !== "") {
        try {
          body = JSON.parse(text);
        } catch {
          const said = `${url.origin} answered ${res.status} with a body that is not JSON`;
          // its status, as every answer's error carries it (a proxy's HTML page with 200)
          throw new CliError(said, EXIT.failure, "invalid_response", ["is --url pointing at a scoregate server?"], {
            status: res.status,
            code: null,
            message: said,
          });
        }
      }
      return { status: res.status, headers: res.headers, body: body as T };
    }
    const text = await res.text().catch(() => "");
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: a proxy or a wrong URL
    }
    const envelope = AnyErrorResponse.safeParse(parsed);
    const code = envelope.success ? envelope.data.error.code : null;
    // Not a scoregate answer (a wrong --url, a proxy's page): an HTML page is not printed, it would bury the hint.
    const message = envelope.success
      ? envelope.data.error.message
      : /^\s*</u.test(text)
        ? `an HTML page${res.statusText ? ` (${res.statusText})` : ""}, not a scoregate answer`
        : text.slice(0, 200) || res.statusText;
    const suggested = suggestions(message, envelope.success ? envelope.data.error.details : undefined);
    const lines = envelope.success ? [...detailLines(envelope.data.error.details), ...suggested.lines] : [];
    const h = code ? hint(code, res.status, route, envelope.success ? envelope.data.error.details : undefined, message, init.params) : null;
    if (h) lines.push(h);
    // A refusal from a server of another API version is most likely that: say so before anything else is suspected.
    const serverApi = res.headers.get(API_VERSION_HEADER);
    if (serverApi !== null && serverApi !== API_VERSION)
      lines.push(
        `the server speaks API version ${serverApi}, this CLI (${version}) speaks version ${API_VERSION}: install a CLI made for it (the compatibility table is in the package's README)`,
      );
    // 4xx: the request (flags, file, token) is the problem; 429, a key whose first request is still running, and 5xx:
    // try again later. A 4xx that is not a scoregate error came from something else (a wrong --url): invalid_response,
    // exit 1, as a 2xx body that is not JSON.
    const input = envelope.success && res.status >= 400 && res.status < 500 && res.status !== 429 && code !== "idempotency_in_progress";
    if (!input && code !== "idempotency_in_progress") {
      const retryAfter = res.headers.get("retry-after");
      lines.push(
        res.status === 429
          ? `the server is rate limiting: retry${retryAfter ? ` after ${retryAfter} s` : " later"}`
          : envelope.success
            ? "a server-side failure: retry; if it persists, the server's logs have the cause"
            : [401, 403, 407].includes(res.status)
              ? "the answer is not a scoregate error: a proxy in front of scoregate (an access gateway) may have refused the request, or --url points at another server"
              : "the answer is not a scoregate error: is --url pointing at a scoregate server?",
      );
    }
    const server: ServerRefusal = { status: res.status, code, message };
    if (envelope.success && envelope.data.error.details !== undefined) server.details = envelope.data.error.details;
    const shown = code === "unknown_reference" ? withoutJsonAdvice(suggested.message) : suggested.message;
    throw new CliError(
      `${res.status}${code ? ` ${code}` : ""}: ${shown}`,
      input ? EXIT.usage : EXIT.failure,
      code ?? "invalid_response",
      lines,
      server,
    );
  }
}
