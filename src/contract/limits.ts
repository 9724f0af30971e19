/**
 * The limits a client can run into: sizes, counts, page sizes, cache lifetimes and retry schedules the API promises.
 * docs/api.md#limits lists them for users; the server's own operational limits are in src/platform/limits.ts.
 */

/** Longest id (index, embedding, reranker, index_version), in characters after NFC. Ids like `BAAI/bge-reranker-v2-m3@5f0c1a` are ~30. */
export const MAX_ID_LENGTH = 256;

/** Most scores in one calibration. 2M float64 = 16 MB sorted, well inside the Workers 128 MB isolate (docs/architecture.md#platform-facts). */
export const MAX_SCORES = 2_000_000;

/** Most calibration queries in one upload (`queries`), so per-query statistics stay bounded. */
export const MAX_QUERIES = 500_000;

/** Most candidates in one calibration query. Rerankers see at most a few hundred; 10k leaves ample headroom. */
export const MAX_CANDIDATES_PER_QUERY = 10_000;

/**
 * Largest JSON upload: about 500k full-precision scores. JSON.parse holds the bytes, the text, the parsed array and
 * the typed copies at once: a 1M-score (18.7 MB) body needed 75 MB in use and grew the process by 103 MB
 * (bench/results/fit-1m.md), too close to the 128 MB isolate limit. Larger uploads use NDJSON or float32.
 */
export const MAX_JSON_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Largest NDJSON upload: 1M full-precision scores (about 19 MB). NDJSON is decoded in NDJSON_DECODE_CHUNK_BYTES pieces
 * straight into a Float64Array (no whole text, no array of 1M numbers): a 1M-score body peaked at 60 MB in use and
 * 77 MB of process growth, 60 % of the 128 MB isolate limit (bench/results/fit-1m.md).
 */
export const MAX_NDJSON_BODY_BYTES = 24 * 1024 * 1024;

/** Largest float32 upload: MAX_SCORES scores of 4 bytes. Workers accept 100 MB bodies (plan-dependent), we need 8 MB. */
export const MAX_BINARY_BODY_BYTES = MAX_SCORES * 4;

/**
 * Deepest nesting of arrays and objects in any JSON body or NDJSON line (the top level is 1). The deepest valid body,
 * a carry upload with inline reference scores, nests 4 ({"policy": {"reference": {"scores": [...]}}}). A deeper body
 * is refused before it is parsed: JSON.parse of arrays nested 5 M deep (a 10 MiB body) needed 666 MB of isolate heap
 * (docs/benchmarks.md, section 19).
 */
export const MAX_JSON_DEPTH = 8;

/**
 * Most arrays and objects in one JSON calibration upload: one array per query and one per query's labels, and a few
 * for the metadata. Counted before parsing: 3.5 M empty arrays (a 10 MiB body) needed 117 MB of isolate heap.
 */
export const MAX_UPLOAD_JSON_CONTAINERS = 2 * MAX_QUERIES + 8;

/**
 * Most strings, object keys included, in one JSON calibration upload or NDJSON line. The metadata of an upload needs
 * fewer than 40; scores and labels are numbers.
 */
export const MAX_UPLOAD_JSON_STRINGS = 256;

/** Largest body for every other JSON endpoint (activation, observations, webhooks, alerts). */
export const MAX_SMALL_BODY_BYTES = 1024 * 1024;

/** Most inline reference scores for `carry` (same cap as an upload: they are fitted from exactly). */
export const MAX_REFERENCE_SCORES = MAX_SCORES;

/** Percent steps of the `summary` returned with a calibration (every percent: 101 quantiles). */
export const SUMMARY_QUANTILE_STEPS = 100;

/** Page size bounds for history listings. */
export const DEFAULT_PAGE_SIZE = 50;

export const MAX_PAGE_SIZE = 200;

/** `Cache-Control: max-age` on GET /v1/threshold: clients re-validate with If-None-Match after this. */
export const THRESHOLD_MAX_AGE_SECONDS = 5;

/** Clients may keep serving a stale threshold this long while revalidating, and this long when the server errors. */
export const THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS = 60;

export const THRESHOLD_STALE_IF_ERROR_SECONDS = 86_400;

/** Default tolerance of the rebuild shift alert and of the drift band, in drop-rate units (2 points). */
export const DEFAULT_SHIFT_TOLERANCE = 0.02;

/**
 * The largest `more_data_factor` a sentence names as "about N times as many queries" (the server's rebuild reason, the
 * CLI's shadow lines): beyond it the estimate sits on the tolerance's edge (the factor reaches 1e30 there) and more data
 * is no practical way to settle the decision, which the sentence says instead.
 */
export const MAX_MORE_DATA_FACTOR_SHOWN = 1000;

/**
 * `activate: "auto"` (the upload default) never serves an upload whose expected drop rate misses its target by more
 * than this (rate units: 1 point). A gate's drop rate moves in steps of 1/(n+1) and with ties, so a few scores cannot
 * hit a small target: 3 scores at target 0.01 expect 25 %. From 100 untied scores on, the step alone stays within it.
 */
export const AUTO_ACTIVATE_MAX_TARGET_MISS = 0.01;

/** Largest absolute drift tolerance: half the rate scale; beyond it a band tolerates every rate. */
export const MAX_ABSOLUTE_TOLERANCE = 0.5;

/** Largest relative drift tolerance: 1 (the whole expected rate), where a gate that stops dropping sits on the band's edge. */
export const MAX_RELATIVE_TOLERANCE = 1;

/** Longest Idempotency-Key header accepted (Stripe uses 255). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** How long an idempotency key is remembered (Stripe: 24 h). */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/** Most queries in one observation batch: clients batch, the server bounds memory (one DO request each). */
export const MAX_OBSERVATION_QUERIES = 10_000;

/** Most judged queries in one judgment batch (POST /v1/judgments). */
export const MAX_JUDGED_QUERIES = 1_000;

/** Most scores in the optional score sample of one batch. */
export const MAX_OBSERVATION_SCORES = 10_000;

/** Longest observation batch id (a UUID is 36). */
export const MAX_BATCH_ID_LENGTH = 128;

/** How long a batch id is remembered, so a retried batch is never counted twice. Longer than any client retry. */
export const BATCH_ID_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * Delay before each retry after a failed attempt (cron runs every minute, so one minute is the finest step).
 * Cumulative: 1 min, 6 min, 36 min, 2.6 h, 7.6 h, 17.6 h, 27.6 h: at least 24 hours of retries, so a receiver down for a day loses nothing.
 */
export const WEBHOOK_RETRY_DELAYS_MS = [60e3, 5 * 60e3, 30 * 60e3, 2 * 3600e3, 5 * 3600e3, 10 * 3600e3, 10 * 3600e3] as const;

/** Longest a receiver's Retry-After postpones the next attempt (a day: it must not outlast the retry schedule). */
export const MAX_WEBHOOK_RETRY_AFTER_MS = 24 * 3600 * 1000;

/** Per-attempt timeout of a webhook POST. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** Most webhook endpoints. */
export const MAX_WEBHOOK_ENDPOINTS = 20;

/**
 * Longest note on an alert action, and longest reason on an activation, a shadow change or a promotion (start and
 * overrides). Every length limit on a string counts characters as code points (an emoji is one), as zod's .max does.
 */
export const MAX_NOTE_LENGTH = 1000;

// Pushed changes (GET /v1/events, src/contract/events.ts) ------------------------------------------------------

/** Milliseconds a client waits before reconnecting, sent as the stream's first frame (`retry:`). */
export const SSE_RETRY_MS = 1_000;

/**
 * Milliseconds between heartbeats of an idle stream: well under the 100 s after which Cloudflare's proxy cuts an idle
 * connection. A client that reads nothing for three heartbeats (45 s) treats the connection as dead.
 */
export const SSE_HEARTBEAT_MS = 15_000;

/**
 * Bytes of an event stream's frames the Worker holds for a client that is not reading them (a stalled connection, a
 * client that stopped reading): past this the stream ends, so a stuck client cannot grow the isolate's memory without
 * bound; the client reconnects with Last-Event-ID and is sent what it missed (or a snapshot). Twice a full replay of
 * events of 4 KB (the hub keeps EVENT_LOG_MAX, 1,000, events of a gate, each with its full served state, and sends
 * them at once to a client that reconnects): a client catching up is not cut off by it.
 */
export const SSE_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * The most concurrent subscriptions of one gate: the next is answered 429 `too_many_subscribers` with Retry-After, and
 * the client polls instead (docs/benchmarks.md, "Pushed changes": the figure it was measured at).
 */
export const MAX_SUBSCRIBERS_PER_GATE = 5_000;

/** Longest webhook URL. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Longest webhook endpoint description. */
export const MAX_WEBHOOK_DESCRIPTION_LENGTH = 500;

/**
 * Longest `gate_id` or `endpoint_id` a listing's filter takes (GET /v1/alerts, GET /v1/webhooks/deliveries): ids are
 * shorter (a gate id is 32 characters); a longer filter can match nothing and is refused.
 */
export const MAX_FILTER_ID_LENGTH = 64;

/** Width of one bucket of a gate's drop-rate series (GET /v1/monitor/series): an hour. */
export const SERIES_BUCKET_MS = 3600 * 1000;

/** How long a gate's monitor keeps its series buckets: 30 days (720 hourly buckets per calibration). */
export const SERIES_RETENTION_MS = 30 * 24 * 3600 * 1000;

/**
 * Most series buckets one gate's monitor keeps, whatever its number of calibrations: 30 days of hourly buckets for
 * three calibrations served at once (the oldest go first). At about 200 bytes a row (197-201 measured) this bounds a gate's
 * series to about 0.4 MB of storage and one GET /v1/monitor/series answer to 2,160 rows (docs/benchmarks.md, section 20).
 */
export const MAX_SERIES_BUCKETS = 3 * (SERIES_RETENTION_MS / SERIES_BUCKET_MS);

/** Most activations a GET /v1/monitor/series answer lists (the newest in its range). */
export const MAX_SERIES_ACTIVATIONS = 200;

// --- promotion contract (shadow calibrations and guarded promotion) ---------------------------------------------

/** Shadow calibrations a gate may evaluate at once on mirrored live traffic. */
export const MAX_SHADOWS_PER_GATE = 3;
/** Share of production queries a client mirrors to a shadow when `sample_rate` is omitted. */
export const DEFAULT_SHADOW_SAMPLE_RATE = 0.1;
/**
 * Smallest `sample_rate`: one key bucket in 10,000. Clients mirror the keys whose bucket (0..9999, the promotion arms'
 * basis points) is below `sample_rate * 10000`, so a smaller rate would still mirror one bucket in 10,000, more than
 * it asked for.
 */
export const MIN_SHADOW_SAMPLE_RATE = 0.0001;
/** Steps of a promotion plan at most (the last is always 100 %). */
export const MAX_PROMOTION_STEPS = 10;
/**
 * Largest `promotion.step` (a 0-based step index) an observation batch may name: a bound on the input only, far above
 * any plan's last step (MAX_PROMOTION_STEPS - 1); a step the promotion has not reached is refused against it.
 */
export const MAX_BATCH_PROMOTION_STEP = 99;
/** The plan used when `steps` is omitted: 10 %, 50 %, then the whole traffic. */
export const DEFAULT_PROMOTION_STEPS: readonly number[] = [10, 50, 100];
/** Candidate-arm queries a step needs before it may advance, at least, by default and at most. */
export const MIN_PROMOTION_QUERIES = 200;
export const DEFAULT_PROMOTION_QUERIES = 2000;
export const MAX_PROMOTION_QUERIES = 10_000_000;
/** Hours a step may wait for a decision before the promotion pauses (`inconclusive_timeout`), by default and at most. */
export const DEFAULT_MAX_STEP_HOURS = 72;
export const MAX_STEP_HOURS = 30 * 24;
/** Queries each side of a live decision needs before it answers anything but `inconclusive` (asymptotic validity). */
export const MIN_DECISION_QUERIES = 50;

/**
 * A stratified production test (a guarded gate's drop rate, abstention) watches only the query sizes its calibration
 * holds enough of: below this share of queries in tested sizes, an upload gets `few_monitored_strata`
 * (src/calibrations/monitored-strata.ts) and `scoregate monitor` says how much of production goes unwatched.
 */
export const MONITORED_QUERY_SHARE_WARNING = 0.8;

/** The index (collection) a gate names when `index` is omitted (the SDK and the adapters key their caches by it too). */
export const DEFAULT_INDEX = "default";
