/**
 * GET /v1/monitor/series: a gate's drop rate over time, the hourly buckets its monitor keeps
 * (gate-monitor/series.ts) with the gate's activations in the same range, as JSON or CSV.
 */
import type { GateRef, MonitorSeries, SeriesBucket } from "../contract";
import { AppError } from "../platform/errors";
import { MAX_SERIES_ACTIVATIONS, SERIES_BUCKET_MS, SERIES_RETENTION_MS } from "../platform/limits";
import type { MonitorStatusDeps } from "./deps";
import { existingGateId } from "./status";

export async function monitorSeries(
  q: GateRef & { readonly from?: string | undefined; readonly to?: string | undefined },
  deps: Pick<MonitorStatusDeps, "calibrations" | "monitor" | "now">,
): Promise<MonitorSeries> {
  const gateId = await existingGateId(q, deps);
  const now = deps.now().getTime();
  const to = q.to === undefined ? now : Date.parse(q.to);
  const from = q.from === undefined ? to - SERIES_RETENTION_MS : Date.parse(q.from);
  if (from > to) throw new AppError("bad_request", "from must not be after to", { from: q.from, to: q.to });
  const [buckets, activations] = await Promise.all([
    deps.monitor.series(gateId, from, to),
    deps.calibrations.activations(gateId, MAX_SERIES_ACTIVATIONS),
  ]);
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    gate_id: gateId,
    from: iso(from),
    to: iso(to),
    bucket_seconds: SERIES_BUCKET_MS / 1000,
    retention_days: SERIES_RETENTION_MS / 86_400_000,
    buckets,
    activations: activations
      .filter((a) => a.activated_at >= iso(from) && a.activated_at <= iso(to))
      .reverse()
      .map((a) => ({
        at: a.activated_at,
        calibration_id: a.calibration_id,
        index_version: a.index_version,
        previous_calibration_id: a.previous_calibration_id,
      })),
  };
}

/** The CSV columns: the JSON bucket's fields, the band as two columns, an absent traffic empty. */
const COLUMNS = [
  "start",
  "end",
  "calibration_id",
  "index_version",
  "batches",
  "queries",
  "candidates",
  "dropped",
  "empty_queries",
  "gated_queries",
  "drop_rate",
  "expected",
  "band_lo",
  "band_hi",
  "log_evidence",
  "max_log_evidence",
  "log_threshold",
  "empty_context_log_evidence",
  "drop_rate_alarms",
  "empty_context_alarms",
  "last_alarm_at",
  // Added later: appended, so a reader of the earlier columns by position keeps working.
  "abstention_queries",
  "abstained_queries",
  "abstention_rate",
  "guard_bound_queries",
  "abstention_alarms",
  // empty for an hour recorded before the monitor kept each traffic's hours apart
  "traffic",
  // 0 for an hour recorded before they were counted
  "unscored_candidates",
] as const;

/**
 * RFC 4180 field: quoted when it holds a comma, a quote or a line break (an index_version may). Hand-written: one
 * rule for one small table, where a CSV library would add a dependency for this line.
 */
const field = (v: string | number | null): string => {
  const s = v === null ? "" : String(v);
  return /[",\r\n]/u.test(s) ? `"${s.replace(/"/gu, '""')}"` : s;
};

/** The buckets as CSV: a header row, then one row per bucket, CRLF line ends (RFC 4180). */
export function seriesCsv(buckets: readonly SeriesBucket[]): string {
  const rows = buckets.map((b) => {
    const flat: Record<(typeof COLUMNS)[number], string | number | null> = {
      ...b,
      traffic: b.traffic ?? null,
      band_lo: b.band.lo,
      band_hi: b.band.hi,
    };
    return COLUMNS.map((c) => field(flat[c])).join(",");
  });
  return `${[COLUMNS.join(","), ...rows].join("\r\n")}\r\n`;
}
