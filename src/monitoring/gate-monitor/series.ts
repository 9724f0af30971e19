/**
 * The monitor's drop-rate series: per calibration and traffic (served, shadow, a promotion's candidate arm), one row
 * per hour (SERIES_BUCKET_MS) of the production counts it received and of that traffic's change detector's evidence,
 * written in the same transaction as the window they also update, so on-call can see when a shift started
 * (GET /v1/monitor/series, the gate page's chart). Owns the table `series` (migrations.ts, migration 4; migration 7
 * added the abstention and guard counts; migration 8 the traffic, in the key: the hour a shadow is promoted in has two
 * rows, one per detector, where it had one joining both). Rows from before migration 8 have the traffic
 * SERIES_TRAFFIC_UNKNOWN and are read without one.
 *
 * Bounded: when a batch opens a new hour, buckets older than SERIES_RETENTION_MS (30 days) are forgotten and, beyond
 * MAX_SERIES_BUCKETS rows in all (30 days for three calibrations at once, whatever their traffic), rows go oldest
 * first from the traffic that holds the most (seriesEvictions): a gate's shadows never push its served hours out while
 * they hold more rows. A row is about SERIES_ROW_BYTES in SQLite, so a gate's series stays under
 * MAX_SERIES_BUCKETS * SERIES_ROW_BYTES (about 0.4 MB); nothing is held in memory between calls (docs/storage.md,
 * docs/benchmarks.md section 20).
 */

import type { SeriesBucket, SeriesTraffic } from "../../contract";
import { MAX_SERIES_BUCKETS, SERIES_BUCKET_MS, SERIES_RETENTION_MS } from "../../platform/limits";
import type { QueryObservation } from "../../stats/per-query";
import { SERIES_TRAFFIC_UNKNOWN } from "./migrations";

/**
 * What one series row costs in SQLite, its index entry included, rounded up: `npm run bench:series` measures 197 bytes
 * a row at the cap with the traffic in the row and its key (180 before it: docs/benchmarks.md section 20).
 */
export const SERIES_ROW_BYTES = 200;

/** A row's stored traffic: a batch's, or SERIES_TRAFFIC_UNKNOWN for a row from before migration 8. */
export type StoredTraffic = SeriesTraffic | typeof SERIES_TRAFFIC_UNKNOWN;

/**
 * How many rows of each traffic to forget, oldest first, to bring `counts` (rows per traffic) down to `cap` rows in
 * all: one at a time from the traffic holding the most (a tie: the one named later in `counts`, so list served first to
 * keep it longest). Pure; the cost is one step per row over the cap (one, when a new hour opens at the cap).
 */
export function seriesEvictions(counts: ReadonlyMap<StoredTraffic, number>, cap: number): Map<StoredTraffic, number> {
  const left = new Map(counts);
  const evict = new Map<StoredTraffic, number>();
  let excess = [...left.values()].reduce((a, n) => a + n, 0) - cap;
  while (excess > 0) {
    let most: StoredTraffic | null = null;
    for (const [t, n] of left) if (n > 0 && (most === null || n >= left.get(most)!)) most = t;
    if (most === null) break;
    left.set(most, left.get(most)! - 1);
    evict.set(most, (evict.get(most) ?? 0) + 1);
    excess -= 1;
  }
  return evict;
}

/** The order in which seriesEvictions breaks ties: the gate's served hours are kept longest, old mixed rows go first. */
const EVICTION_ORDER: readonly StoredTraffic[] = ["served", "candidate", "shadow", SERIES_TRAFFIC_UNKNOWN];

/** What one counted batch adds to its calibration's bucket. */
export interface BucketInput {
  readonly calibration_id: string;
  /** The traffic the batch is (a served batch of a promotion's control arm is served: it counts in the served window). */
  readonly traffic: SeriesTraffic;
  readonly index_version: string;
  readonly now_ms: number;
  readonly queries: readonly QueryObservation[];
  /** The calibration's expected drop rate and band, and the detector's numbers after this batch (before any restart). */
  readonly expected: number;
  readonly band: { readonly lo: number; readonly hi: number };
  readonly log_evidence: number;
  readonly log_threshold: number;
  readonly empty_context_log_evidence: number | null;
  readonly drop_rate_alarm: boolean;
  readonly empty_context_alarm: boolean;
  readonly abstention_alarm: boolean;
  /** The calibration's min_keep (0 without the guard): a query where it binds is counted as guard bound. */
  readonly min_keep: number;
}

type Row = {
  calibration_id: string;
  traffic: StoredTraffic;
  bucket_start: number;
  index_version: string;
  batches: number;
  queries: number;
  candidates: number;
  dropped: number;
  empty_queries: number;
  gated_queries: number;
  expected: number;
  band_lo: number;
  band_hi: number;
  log_evidence: number;
  max_log_evidence: number;
  log_threshold: number;
  empty_log_evidence: number | null;
  drop_alarms: number;
  empty_alarms: number;
  last_alarm_at: number | null;
  abstention_queries: number;
  abstained: number;
  guard_bound_queries: number;
  abstention_alarms: number;
  unscored_candidates: number;
};

/** The start of the bucket holding `ms`. */
export const bucketStart = (ms: number): number => Math.floor(ms / SERIES_BUCKET_MS) * SERIES_BUCKET_MS;

export class Series {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Adds a counted batch to its calibration's bucket of its traffic; call inside the batch's transaction. */
  record(b: BucketInput): void {
    let queries = 0;
    let candidates = 0;
    let dropped = 0;
    let empty = 0;
    let gated = 0;
    let abstentionQueries = 0;
    let abstained = 0;
    let guardBound = 0;
    let unscored = 0;
    for (const [m, d, below, abstain, without] of b.queries) {
      // Beside the tests, as the window counts them (../window.ts addBatch): a query can hold nothing else.
      unscored += without ?? 0;
      // As the window counts them (stats/per-query.ts addCluster): a query without (scored) candidates says nothing of the gate.
      if (m === 0) continue;
      queries += 1;
      candidates += m;
      dropped += d;
      if (d === m) empty += 1;
      if (d > 0) gated += 1;
      if (abstain !== undefined) {
        abstentionQueries += 1;
        if (abstain === 1) abstained += 1;
      }
      // The guard binds where the threshold alone leaves fewer than min(min_keep, m) (addCluster's level test; a client
      // that reports no `below` is read as below = d, so its guard is never seen binding).
      if (b.min_keep >= 1 && m - (below ?? d) < Math.min(b.min_keep, m)) guardBound += 1;
    }
    const start = bucketStart(b.now_ms);
    const alarmAt = b.drop_rate_alarm || b.empty_context_alarm || b.abstention_alarm ? b.now_ms : null;
    const opened =
      this.#sql
        .exec(`SELECT 1 FROM series WHERE calibration_id = ? AND traffic = ? AND bucket_start = ?`, b.calibration_id, b.traffic, start)
        .toArray().length === 0;
    this.#sql.exec(
      `INSERT INTO series (calibration_id, traffic, bucket_start, index_version, batches, queries, candidates, dropped, empty_queries,
         gated_queries, expected, band_lo, band_hi, log_evidence, max_log_evidence, log_threshold, empty_log_evidence,
         drop_alarms, empty_alarms, last_alarm_at, abstention_queries, abstained, guard_bound_queries, abstention_alarms, unscored_candidates)
       VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (calibration_id, traffic, bucket_start) DO UPDATE SET
         batches = batches + 1, queries = queries + excluded.queries, candidates = candidates + excluded.candidates,
         dropped = dropped + excluded.dropped, empty_queries = empty_queries + excluded.empty_queries,
         gated_queries = gated_queries + excluded.gated_queries, expected = excluded.expected, band_lo = excluded.band_lo,
         band_hi = excluded.band_hi, log_evidence = excluded.log_evidence,
         max_log_evidence = MAX(max_log_evidence, excluded.max_log_evidence), log_threshold = excluded.log_threshold,
         empty_log_evidence = excluded.empty_log_evidence, drop_alarms = drop_alarms + excluded.drop_alarms,
         empty_alarms = empty_alarms + excluded.empty_alarms, last_alarm_at = COALESCE(excluded.last_alarm_at, last_alarm_at),
         abstention_queries = abstention_queries + excluded.abstention_queries, abstained = abstained + excluded.abstained,
         guard_bound_queries = guard_bound_queries + excluded.guard_bound_queries,
         abstention_alarms = abstention_alarms + excluded.abstention_alarms,
         unscored_candidates = unscored_candidates + excluded.unscored_candidates`,
      b.calibration_id,
      b.traffic,
      start,
      b.index_version,
      queries,
      candidates,
      dropped,
      empty,
      gated,
      b.expected,
      b.band.lo,
      b.band.hi,
      b.log_evidence,
      b.log_evidence,
      b.log_threshold,
      b.empty_context_log_evidence,
      b.drop_rate_alarm ? 1 : 0,
      b.empty_context_alarm ? 1 : 0,
      alarmAt,
      abstentionQueries,
      abstained,
      guardBound,
      b.abstention_alarm ? 1 : 0,
      unscored,
    );
    if (opened) this.#prune(b.now_ms);
  }

  /**
   * Forgets buckets past the retention, then, beyond MAX_SERIES_BUCKETS rows, the oldest of the traffic holding the
   * most rows (seriesEvictions; once per new bucket).
   */
  #prune(nowMs: number): void {
    this.#sql.exec(`DELETE FROM series WHERE bucket_start < ?`, bucketStart(nowMs - SERIES_RETENTION_MS));
    const found = this.#sql.exec<{ traffic: StoredTraffic; n: number }>(`SELECT traffic, COUNT(*) AS n FROM series GROUP BY traffic`).toArray();
    const counts = new Map<StoredTraffic, number>();
    for (const t of EVICTION_ORDER) counts.set(t, 0);
    for (const r of found) counts.set(r.traffic, r.n);
    for (const [traffic, n] of seriesEvictions(counts, MAX_SERIES_BUCKETS)) {
      this.#sql.exec(
        `DELETE FROM series WHERE (calibration_id, traffic, bucket_start) IN
           (SELECT calibration_id, traffic, bucket_start FROM series WHERE traffic = ? ORDER BY bucket_start, calibration_id LIMIT ?)`,
        traffic,
        n,
      );
    }
  }

  /** The buckets that overlap [fromMs, toMs], oldest first (in one hour: by calibration, then traffic). */
  read(fromMs: number, toMs: number): SeriesBucket[] {
    return this.#sql
      .exec<Row>(
        `SELECT * FROM series WHERE bucket_start >= ? AND bucket_start <= ? ORDER BY bucket_start, calibration_id, traffic`,
        bucketStart(fromMs),
        toMs,
      )
      .toArray()
      .map(
        (r): SeriesBucket => ({
          calibration_id: r.calibration_id,
          ...(r.traffic === SERIES_TRAFFIC_UNKNOWN ? {} : { traffic: r.traffic }),
          index_version: r.index_version,
          start: new Date(r.bucket_start).toISOString(),
          end: new Date(r.bucket_start + SERIES_BUCKET_MS).toISOString(),
          batches: r.batches,
          queries: r.queries,
          candidates: r.candidates,
          unscored_candidates: r.unscored_candidates,
          dropped: r.dropped,
          empty_queries: r.empty_queries,
          gated_queries: r.gated_queries,
          drop_rate: r.candidates > 0 ? r.dropped / r.candidates : null,
          expected: r.expected,
          band: { lo: r.band_lo, hi: r.band_hi },
          log_evidence: r.log_evidence,
          max_log_evidence: r.max_log_evidence,
          log_threshold: r.log_threshold,
          empty_context_log_evidence: r.empty_log_evidence,
          abstention_queries: r.abstention_queries,
          abstained_queries: r.abstained,
          abstention_rate: r.abstention_queries > 0 ? r.abstained / r.abstention_queries : null,
          guard_bound_queries: r.guard_bound_queries,
          drop_rate_alarms: r.drop_alarms,
          empty_context_alarms: r.empty_alarms,
          abstention_alarms: r.abstention_alarms,
          last_alarm_at: r.last_alarm_at === null ? null : new Date(r.last_alarm_at).toISOString(),
        }),
      );
  }
}
