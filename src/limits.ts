/**
 * Every platform and product limit scoregate enforces, as a named constant with its reason and source.
 * docs/api.md#limits lists them for users; test/routes/limits.test.ts and bad-input.test.ts check the app enforces them.
 */

/** Longest id (index, embedding, reranker, index_version), in characters after NFC. Ids like `BAAI/bge-reranker-v2-m3@5f0c1a` are ~30. */
export const MAX_ID_LENGTH = 256;

/** Most scores in one calibration. 2M float64 = 16 MB sorted, well inside the Workers 128 MB isolate (platform.md). */
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

/** NDJSON is decoded to text this many bytes at a time (cut at a newline), bounding the text held at once. */
export const NDJSON_DECODE_CHUNK_BYTES = 1024 * 1024;

/** Largest float32 upload: MAX_SCORES scores of 4 bytes. Workers accept 100 MB bodies (plan-dependent), we need 8 MB. */
export const MAX_BINARY_BODY_BYTES = MAX_SCORES * 4;

/** Largest body for every other JSON endpoint (activation, observations, webhooks, alerts). */
export const MAX_SMALL_BODY_BYTES = 1024 * 1024;

/** Most inline reference scores for `carry` (same cap as an upload: they are fitted from exactly). */
export const MAX_REFERENCE_SCORES = MAX_SCORES;

/**
 * Knots kept per calibration to answer "share of scores below x" later. With K knots at equally spaced ranks the
 * rank error is at most 1/K = 0.05 percentage point (the issue requires <= 0.1 point; statistics.md).
 */
export const DISTRIBUTION_KNOTS = 2000;

/** Percent steps of the `summary` returned with a calibration (every percent: 101 quantiles). */
export const SUMMARY_QUANTILE_STEPS = 100;

/** Page size bounds for history listings. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** How long one isolate trusts its in-memory copy of a gate's threshold before re-reading KV. */
export const ISOLATE_CACHE_TTL_MS = 5_000;

/** How many gates one isolate caches (LRU); a threshold entry is under 1 KB. */
export const ISOLATE_CACHE_MAX_ENTRIES = 10_000;

/** KV edge cache for the projection (KV's minimum cacheTtl is 30 s). */
export const KV_CACHE_TTL_SECONDS = 30;

/** `Cache-Control: max-age` on GET /v1/threshold: clients re-validate with If-None-Match after this. */
export const THRESHOLD_MAX_AGE_SECONDS = 5;

/** Clients may keep serving a stale threshold this long while revalidating, and this long when the server errors. */
export const THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS = 60;
export const THRESHOLD_STALE_IF_ERROR_SECONDS = 86_400;

/** Default tolerance of the rebuild shift alert and of the drift band, in drop-rate units (2 points). */
export const DEFAULT_SHIFT_TOLERANCE = 0.02;

/** Target half-width of the 95 % drop-rate interval below which a calibration is warned about (1 point). */
export const DROP_RATE_PRECISION_TARGET = 0.01;

/** Two-sided significance level of the rebuild shift test: a move must exceed what sampling noise explains at 0.1 %. */
export const REBUILD_SHIFT_ALPHA = 0.001;

/** Share of calibration scores tied at the threshold above which a calibration is warned about (1 %). */
export const TIES_AT_THRESHOLD_WARNING_SHARE = 0.01;

/** Longest Idempotency-Key header accepted (Stripe uses 255). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** A key whose first request has not finished after this long is taken over (the first invocation died). */
export const IDEMPOTENCY_LOCK_MS = 5 * 60 * 1000;

/** How long an idempotency key is remembered (Stripe: 24 h). */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

// ---------------------------------------------------------------------------------------------------------------
// Production observations and drift
// ---------------------------------------------------------------------------------------------------------------

/** Most queries in one observation batch: clients batch, the server bounds memory (one DO request each). */
export const MAX_OBSERVATION_QUERIES = 10_000;

/** Most scores in the optional score sample of one batch. */
export const MAX_OBSERVATION_SCORES = 10_000;

/** Scores kept per gate window (uniform reservoir sample) for the production score distribution. */
export const SCORE_RESERVOIR_SIZE = 2_000;

/** Longest observation batch id (a UUID is 36). */
export const MAX_BATCH_ID_LENGTH = 128;

/** How long a batch id is remembered, so a retried batch is never counted twice. Longer than any client retry. */
export const BATCH_ID_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** Length of a drift window: the anytime-valid test restarts each window (and after an alarm or a refit). */
export const DRIFT_WINDOW_MS = 24 * 3600 * 1000;

/** Default false-alarm probability per gate per window (issue: alpha 0.001). Override with env DRIFT_ALPHA. */
export const DEFAULT_DRIFT_ALPHA = 0.001;

/** Finished windows kept per gate for the monitor's history. */
export const MAX_WINDOW_HISTORY = 30;

/** An uncalibrated request raises or updates its alert at most this often per gate per isolate. */
export const UNCALIBRATED_ALERT_INTERVAL_MS = 60_000;

/**
 * Most unresolved uncalibrated_request alerts. Any read token can ask for any name, so beyond this new names are only
 * logged: a misbehaving client cannot fill D1 or page on-call once per made-up gate.
 */
export const MAX_OPEN_UNCALIBRATED_ALERTS = 100;

/** Most gates listed in GET /metrics: each costs a D1 read and a Durable Object call, within 1,000 subrequests. */
export const MAX_METRICS_GATES = 300;

// ---------------------------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------------------------

/**
 * Delay before each retry after a failed attempt (cron runs every minute, so one minute is the finest step).
 * Cumulative: 1 min, 6 min, 36 min, 2.6 h, 7.6 h, 17.6 h, 27.6 h: at least 24 hours of retries, as the issue asks.
 */
export const WEBHOOK_RETRY_DELAYS_MS = [60e3, 5 * 60e3, 30 * 60e3, 2 * 3600e3, 5 * 3600e3, 10 * 3600e3, 10 * 3600e3] as const;

/** Per-attempt timeout of a webhook POST. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** A sender holds a delivery this long; a crashed sender's delivery is picked up again after it. */
export const WEBHOOK_LEASE_MS = 60_000;

/** Deliveries attempted per run (per request or per cron tick): about 5 subrequests each, within 1,000 per invocation. */
export const WEBHOOK_BATCH = 20;

/** Most webhook endpoints. */
export const MAX_WEBHOOK_ENDPOINTS = 20;

/** Longest webhook URL. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Gates the reconciler checks per cron run. Each costs a few KV and D1 calls, and Workers allow 1,000 subrequests per
 * invocation (50 on the free plan; local emulation enforces neither). Larger fleets are covered over several runs.
 */
export const RECONCILE_GATES_PER_RUN = 100;
