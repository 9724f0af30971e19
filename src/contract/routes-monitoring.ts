/** The monitoring operations of the route table: production observations and judgments, and the drift they show. */
import { JudgmentAccepted, JudgmentBatch } from "./judgments";
import { MonitorSeries, SeriesQuery } from "./monitor-series";
import { MonitorQuery, MonitorStatus, ObservationAccepted, ObservationBatch } from "./monitoring";
import { json, type RouteSpec } from "./route-spec";

export const monitoringRoutes = {
  postObservations: {
    method: "post",
    path: "/v1/observations",
    tag: "monitoring",
    scope: "read",
    summary: "Report per-query counts from production",
    body: json(ObservationBatch),
    responses: { 202: { description: "accepted (or a duplicate)", schema: ObservationAccepted } },
    // 409: role "shadow" for a calibration that is not in its gate's shadow set
    errors: [400, 404, 409, 413, 415, 422],
  },
  postJudgments: {
    method: "post",
    path: "/v1/judgments",
    tag: "monitoring",
    scope: "read",
    summary: "Report judged (labelled) production queries of a recall gate",
    body: json(JudgmentBatch),
    responses: { 202: { description: "accepted (or a duplicate), with the coverage test", schema: JudgmentAccepted } },
    errors: [400, 404, 413, 415, 422],
  },
  getMonitor: {
    method: "get",
    path: "/v1/monitor",
    tag: "monitoring",
    scope: "read",
    summary: "Drift windows of a gate",
    query: MonitorQuery,
    responses: { 200: { description: "status", schema: MonitorStatus } },
    errors: [400, 404],
  },
  getMonitorSeries: {
    method: "get",
    path: "/v1/monitor/series",
    tag: "monitoring",
    scope: "read",
    summary: "A gate's drop rate and drift evidence per hour, with its activations (JSON, or CSV with format=csv)",
    query: SeriesQuery,
    responses: {
      200: {
        description: "hourly buckets, oldest first",
        schema: MonitorSeries,
        alternatives: { "text/csv": "format=csv: one row per bucket, a header row naming the columns" },
        headers: { "Content-Disposition": 'format=csv only: attachment; filename="scoregate-series-<gate id>.csv"' },
      },
    },
    errors: [400, 404],
  },
} as const satisfies Record<string, RouteSpec>;
