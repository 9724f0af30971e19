/**
 * The server's operational limits (caches, retention, deadlines, queues, platform budgets), each a named constant with
 * its reason and source. Statistical constants (levels, precision targets, the kept distribution's size, the monitor's
 * window) live next to the code they govern: src/calibrations/fit.ts, src/calibrations/rebuild-shift.ts,
 * src/monitoring/window.ts. The API-visible limits live in the contract (src/contract/limits.ts) and are re-exported
 * here, so server code imports every limit from this one module. docs/api.md#limits lists both kinds;
 * test/platform/limits.workerd.test.ts and bad-input.workerd.test.ts check that the app enforces them.
 */
export * from "../contract/limits";

/**
 * Most arrays and objects in an upload's metadata: a JSON upload without its `scores`, `queries` and `relevance`, or
 * an NDJSON body's line 1. A valid one holds a few (the object, its policy, the policy's reference and abstention,
 * relative tolerances, `answerable`); the limit bounds what JSON.parse builds from a line before zod reads it.
 */
export const MAX_UPLOAD_META_CONTAINERS = 8;

/** NDJSON is decoded to text this many bytes at a time (cut at a newline), bounding the text held at once. */
export const NDJSON_DECODE_CHUNK_BYTES = 1024 * 1024;

/** How long one isolate trusts its in-memory copy of a gate's threshold before re-reading KV. */
export const ISOLATE_CACHE_TTL_MS = 5_000;

/** How many gates one isolate caches (LRU); a threshold entry is under 1 KB. */
export const ISOLATE_CACHE_MAX_ENTRIES = 10_000;

/** KV edge cache for the projection (KV's minimum cacheTtl is 30 s). */
export const KV_CACHE_TTL_SECONDS = 30;

/** A key whose first request has not finished after this long is taken over (the first invocation died). */
export const IDEMPOTENCY_LOCK_MS = 5 * 60 * 1000;

/**
 * Retry-After (seconds) of a 409 idempotency_in_progress: a promotion change commits within a second, an upload's fit
 * within seconds, and the retry that comes after it replays the answer; a client that retries sooner only gets the 409
 * again.
 */
export const IDEMPOTENCY_RETRY_AFTER_SECONDS = 1;

/** A calibration's change detector with no observation for this long is forgotten (a week: the batch-id retention). */
export const DETECTOR_IDLE_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * A row of live evidence (a shadow's, a promotion arm's) with no batch for this long is forgotten. A backstop: rows of
 * a closed promotion or a removed shadow are deleted when it closes; this catches a delete that failed, or a shadow
 * that left its gate's set by an activation. Longer than MAX_STEP_HOURS, so a paused step keeps its evidence.
 */
export const EVIDENCE_IDLE_RETENTION_MS = 90 * 24 * 3600 * 1000;

/** Running promotions the cron re-decides (and checks against their deadline) per tick, oldest step first. */
export const PROMOTIONS_PER_TICK = 100;

// Pushed changes: the hub and the relay (src/streaming/) ---------------------------------------------------------

/**
 * Events a gate's hub keeps for replay (src/streaming/event-log.ts): a subscriber that reconnects after missing more
 * (or after EVENT_LOG_RETENTION_MS) gets a snapshot instead. A gate changes a few times a day; an event is about 1 KB.
 */
export const EVENT_LOG_MAX = 1_000;

/** How long a gate's hub keeps an event for replay: 30 days, D1 Time Travel's window. */
export const EVENT_LOG_RETENTION_MS = 30 * 24 * 3600 * 1000;

/**
 * Most events a hub reads from D1 at once when it finds itself behind (a publish that failed or arrived out of order);
 * more are read on the next change or the next cron tick.
 */
export const HUB_SYNC_BATCH = 100;

/**
 * The cron tick syncs the hubs of gates whose log changed within this window (src/streaming/hub-sync.ts): a missed
 * push is repaired within a minute, and a hub is never asked about a gate that has been quiet.
 */
export const HUB_SYNC_WINDOW_MS = 10 * 60 * 1000;

/** Most hubs one cron tick syncs (one Durable Object call each; a gate changes a few times a day). */
export const MAX_HUB_SYNCS_PER_TICK = 50;

/** Seconds a subscriber refused with 429 too_many_subscribers is asked to wait (Retry-After) before trying again. */
export const SUBSCRIBE_RETRY_AFTER_SECONDS = 60;

/** Finished windows kept per gate for the monitor's history. */
export const MAX_WINDOW_HISTORY = 30;

/**
 * An uncalibrated_request alert is raised for a token that asked for the same uncalibrated gate in at least this many
 * distinct minutes within UNCALIBRATED_ALERT_WINDOW_MINUTES: a service on its fallback keeps asking (the SDKs re-ask
 * at every max-age, 5 s), a person looking a gate up asks once or a few times within a minute or two.
 */
export const UNCALIBRATED_ALERT_MIN_MINUTES = 5;

/** The window the distinct minutes of UNCALIBRATED_ALERT_MIN_MINUTES are counted in. */
export const UNCALIBRATED_ALERT_WINDOW_MINUTES = 15;

/** A sighting (gate, token, minute) is written to D1 at most once per this interval per isolate: one write a minute. */
export const UNCALIBRATED_ALERT_INTERVAL_MS = 60_000;

/** Longest User-Agent kept in an uncalibrated_request alert's details (it names the client; the rest is cut). */
export const MAX_ALERT_CLIENT_LENGTH = 200;

/**
 * Calibrated gates (or active versions) an uncalibrated_request alert names as what the service probably meant: the
 * first of the 404's suggestions (MAX_GATE_SUGGESTIONS, closest name first), few enough to read in its sentence.
 */
export const MAX_ALERT_SUGGESTIONS = 3;

/**
 * Most unresolved uncalibrated_request alerts. Any read token can ask for any name, so beyond this new names are only
 * logged: a misbehaving client cannot fill D1 or page on-call once per made-up gate.
 */
export const MAX_OPEN_UNCALIBRATED_ALERTS = 100;

/**
 * Most gates listed in GET /metrics: each costs a D1 read and a Durable Object call, within 1,000 subrequests. A
 * scrape at this cap answers in about 0.3 s locally (docs/benchmarks.md section 21), within the 2 s scoregate
 * promises and Prometheus' default 10 s scrape timeout.
 */
export const MAX_METRICS_GATES = 300;

/**
 * Reads one request keeps in flight when it fans out over gates (/metrics, the dashboard's overview: a D1 read and a
 * Durable Object call per gate). A Worker invocation keeps at most six connections open at a time (Cloudflare's
 * "simultaneous open connections" limit); more would only wait for a slot.
 */
export const MAX_CONCURRENT_READS = 6;

/**
 * Most bound parameters D1 takes in one statement (Cloudflare's D1 limits: "maximum number of bound parameters per
 * query", 100): a read of many gates by `gate_id IN (...)` runs one statement per this many.
 */
export const D1_MAX_BOUND_PARAMETERS = 100;

/** A sender holds a delivery this long; a crashed sender's delivery is picked up again after it. */
export const WEBHOOK_LEASE_MS = 60_000;

/** Deliveries attempted per run (per request or per cron tick): about 5 subrequests each, within 1,000 per invocation. */
export const WEBHOOK_BATCH = 20;

/**
 * Deliveries one run has in flight at once, each to a different endpoint, so a receiver that hangs until the
 * WEBHOOK_TIMEOUT_MS abort holds one of them and the others keep sending. Below the six connections a Worker
 * invocation keeps open at a time (see MAX_CONCURRENT_READS): more would only wait for a slot.
 */
export const WEBHOOK_CONCURRENCY = 5;

/**
 * The longest `last_error` a delivery keeps of a network error's message (what the runtime says about a refused
 * connection or a TLS failure): enough for any such message, and a bound on what a receiver's host name or a proxy's
 * words can put into D1 and every listing of deliveries.
 */
export const MAX_DELIVERY_ERROR_CHARACTERS = 500;

/**
 * A delivery run starts no attempt after this long, so it ends within WEBHOOK_RUN_MS + WEBHOOK_TIMEOUT_MS (25 s)
 * even when every receiver hangs: inside the 30 s Cloudflare gives work deferred past a response (ctx.waitUntil).
 * What is left is sent by the next run (the cron tick every minute).
 */
export const WEBHOOK_RUN_MS = 15_000;

/**
 * Gates the reconciler checks per cron run. Each costs a few KV and D1 calls, and a gate whose KV value it republishes
 * one Durable Object call more (its hub's sync: up to 100 after a restore, when KV was emptied); Workers allow 1,000
 * subrequests per invocation (50 on the free plan; local emulation enforces neither). Larger fleets are covered over
 * several runs.
 */
export const RECONCILE_GATES_PER_RUN = 100;

/**
 * How long after a change of a gate commits the cron tick waits before running the listeners its request still owes
 * (src/calibrations/pending-listeners.ts): a request runs them right after its commit, within seconds; one that has not
 * after this long is taken for dead, as its Idempotency-Key's claim is (IDEMPOTENCY_LOCK_MS). Shorter would race live
 * requests (harmless, every listener is idempotent, but wasted); longer leaves a lost rebuild_shift alert unraised
 * longer. The KV projection does not wait for it: the reconciler repairs KV on every tick.
 */
export const ACTIVATION_LISTENERS_GRACE_MS = IDEMPOTENCY_LOCK_MS;

/**
 * Changes whose owed listeners one cron tick runs, oldest first. Each costs about a dozen KV, D1 and Durable Object
 * calls, next to the reconciler's (RECONCILE_GATES_PER_RUN) within the 1,000 subrequests of an invocation; a backlog
 * is worked off over several ticks.
 */
export const ACTIVATION_LISTENERS_PER_TICK = 20;

/**
 * A change whose listeners still fail this long after its commit is given up (logged, its marker deleted): KV and the
 * hubs are repaired by their own cron steps anyway, and a listener that failed for a day will not be fixed by retrying.
 */
export const ACTIVATION_LISTENERS_GIVE_UP_MS = 24 * 3600 * 1000;

/**
 * Attempts of one activation (or activating upload) against concurrent activations of the same gate. Each attempt
 * re-reads the gate's current calibration and recomputes the shift; a conditional write admits one per round, so 25
 * covers 25 simultaneous activations of one gate. Beyond that the request is refused with 409 and can be retried.
 */
export const MAX_ACTIVATION_ATTEMPTS = 25;

/**
 * How long the read path waits for KV before answering from D1 instead. KV reads take milliseconds (tens at the tail);
 * a read that has not answered in half a second is treated as failed so a slow KV never becomes a slow threshold.
 */
export const KV_READ_DEADLINE_MS = 500;

/** How long the read path waits for D1 before falling back to the isolate's last-known-good copy. */
export const D1_READ_DEADLINE_MS = 2_000;

/**
 * How long an isolate keeps the last threshold it served for each gate, to answer (marked stale) when KV and D1 both
 * fail. Matches the stale-if-error a client is told it may use (THRESHOLD_STALE_IF_ERROR_SECONDS).
 */
export const LAST_KNOWN_GOOD_MS = 86_400_000;

/** Retry-After (seconds) of a 503 storage_unavailable: when neither storage tier answered and nothing was known. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;

/** Calibrated gates suggested in an uncalibrated 404 ("did you mean index=docs?"): enough to spot the typo, one query. */
export const MAX_GATE_SUGGESTIONS = 5;
/**
 * Calibrated gates read as candidates for those suggestions (the same models under another index first, newest
 * first), then ranked by how close their names are to the one asked for: bounds the read and the ranking's work.
 */
export const MAX_GATE_NEIGHBOUR_CANDIDATES = 50;
/**
 * How far a calibrated gate's name may be from the one asked for and still be suggested (calibrations/gate-names.ts,
 * similarName): this many edits, or this share of the longer name's characters when that allows more; always fewer
 * edits than the shorter name has characters. Two edits catch a swapped pair of letters ("mien" for "mine"); a third of
 * the length lets a long model name differ in a version suffix, not become another word.
 */
export const GATE_NAME_MAX_EDITS_FLOOR = 2;
export const GATE_NAME_MAX_EDITS_PER_CHARACTER = 1 / 3;

// ---------------------------------------------------------------------------------------------------------------
// Queued observation ingest (OBSERVATION_INGEST = "queue"; docs/reliability.md#observation-ingest-at-fleet-scale).
// The consumer settings are also written in wrangler.toml ([[queues.consumers]]); test/platform/queue-config.test.ts
// checks that the two agree. Platform figures: https://developers.cloudflare.com/queues/platform/limits/
// ---------------------------------------------------------------------------------------------------------------

/** The queue POST /v1/observations writes to in queue mode, and its dead-letter queue (both created before a deploy). */
export const OBSERVATIONS_QUEUE_NAME = "scoregate-observations";

export const OBSERVATIONS_DEAD_LETTER_QUEUE_NAME = "scoregate-observations-dlq";

/** Cloudflare Queues' largest message: 128 KB (1 KB = 1,000 bytes), including about 100 bytes of platform metadata. */
export const QUEUE_MESSAGE_LIMIT_BYTES = 128_000;

/**
 * Largest queued observation message (the UTF-8 bytes of its JSON, sent with contentType "json"): the Queues limit
 * less 1,000 bytes of headroom for the platform's metadata. 10,000 queries of 20 candidates take about 75 KB, so every
 * batch without scores fits; a score sample of more than a few thousand full-precision scores does not. Such a batch
 * is counted directly instead, and answered as in direct mode.
 */
export const MAX_OBSERVATION_MESSAGE_BYTES = QUEUE_MESSAGE_LIMIT_BYTES - 1_000;

/** Messages per consumer invocation (max_batch_size): Queues' maximum. All of a gate's become one object call. */
export const OBSERVATION_QUEUE_BATCH_SIZE = 100;

/** Longest a partial consumer batch waits to fill (max_batch_timeout, seconds): the delay a quiet gate's counts see. */
export const OBSERVATION_QUEUE_BATCH_TIMEOUT_SECONDS = 2;

/**
 * Deliveries after the first before a message goes to the dead-letter queue (max_retries). With the backoff below
 * (2, 4, 8, 16, 32, then 60 s) ten retries span about six minutes: an object that is briefly unreachable loses nothing.
 */
export const OBSERVATION_QUEUE_MAX_RETRIES = 10;

/** Delay before the first retry of a message whose gate call failed (seconds); it doubles per attempt. */
export const OBSERVATION_RETRY_BASE_DELAY_SECONDS = 2;

/** Longest delay between two retries of a queued observation (seconds). */
export const OBSERVATION_RETRY_MAX_DELAY_SECONDS = 60;

/**
 * Cloudflare Queues' documented throughput of one queue: 5,000 messages/s (beyond it send() throws "Too Many
 * Requests", which POST /v1/observations answers with 503 storage_unavailable and Retry-After). It is shared by every
 * gate that writes to the queue: at the design target of 2,000 batches/s per gate, one queue carries two such gates.
 */
export const QUEUE_MESSAGES_PER_SECOND_PER_QUEUE = 5_000;

/** A dashboard session lasts at most 12 hours (checked from the signed cookie, not only by the browser). */
export const SESSION_MAX_AGE_S = 12 * 60 * 60;

/** Shortest SESSION_SECRET a production Worker signs dashboard sessions with (32 characters, 128 bits or more). */
export const MIN_SESSION_SECRET_LENGTH = 32;

/**
 * Failed dashboard sign-ins one client address may make within LOGIN_FAILURE_WINDOW_MS; further attempts are answered
 * 429 until the window ends, even with a right token. Tokens are long random secrets, so this only caps online
 * guessing per address; a person who mistypes has five tries.
 */
export const LOGIN_MAX_FAILURES = 5;

/** The window LOGIN_MAX_FAILURES is counted in, from an address's first failure. */
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60 * 1000;

/**
 * Client addresses one isolate counts failed sign-ins for (about 100 bytes each: 1 MB at most). Beyond it, expired
 * entries are dropped first, then the oldest: an attacker with more addresses than this gets no more than the
 * per-address limit from any of them, as with fresh addresses.
 */
export const LOGIN_THROTTLE_MAX_ADDRESSES = 10_000;
