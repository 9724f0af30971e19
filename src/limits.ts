/**
 * Every platform and product limit scoregate enforces, as a named constant with its reason and source.
 * docs/api.md#limits lists them for users; test/limits.test.ts checks the app enforces them.
 */

/** Longest id (index, embedding, reranker, index_version), in characters after NFC. Ids like `BAAI/bge-reranker-v2-m3@5f0c1a` are ~30. */
export const MAX_ID_LENGTH = 256;

/** Most scores in one calibration. 2M float64 = 16 MB sorted, well inside the Workers 128 MB isolate (platform.md). */
export const MAX_SCORES = 2_000_000;

/** Most calibration queries in one upload (`queries`), so per-query statistics stay bounded. */
export const MAX_QUERIES = 500_000;

/** Most candidates in one calibration query. Rerankers see at most a few hundred; 10k leaves ample headroom. */
export const MAX_CANDIDATES_PER_QUERY = 10_000;

/** Largest JSON or NDJSON upload. About 1M full-precision scores; larger uploads should use float32 (4 bytes a score). */
export const MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;

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

/** D1 allows 100 bound parameters per statement; local D1 does not enforce it, so chunk to this (platform.md). */
export const D1_MAX_BOUND_PARAMETERS = 100;

/** D1 statements and rows are limited to about 100 KB / 2 MB; the stored distribution stays far below (48 KB). */
export const D1_MAX_ROW_BYTES = 2_000_000;

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

/** How long an idempotency key is remembered (Stripe: 24 h). */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
