/**
 * The route table: every operation of the API with its method, path, scope and schemas. The Worker registers its
 * handlers through it (src/platform/http/handle.ts adds the scope check and validates the input), the OpenAPI document is generated from it
 * (src/reference/openapi.ts), and the clients read paths and scopes from it, so none of them can drift apart.
 */
import type { z } from "zod";
import { Alert, AlertAction, AlertOccurrenceQuery, AlertQuery } from "./alerts";
import { Calibration, CalibrationCreated, CalibrationUpload } from "./calibrations";
import {
  ActivationResult,
  AlertList,
  AlertOccurrenceList,
  CalibrationHistory,
  DeliveryList,
  GateList,
  Health,
  ServiceIndex,
  WebhookEndpointList,
} from "./envelopes";
import { EventsQuery, GateEventsQuery } from "./events";
import { MAX_IDEMPOTENCY_KEY_LENGTH } from "./limits";
import {
  JudgmentAccepted,
  JudgmentBatch,
  MonitorQuery,
  MonitorSeries,
  MonitorStatus,
  ObservationAccepted,
  ObservationBatch,
  SeriesQuery,
} from "./monitoring";
import { Promotion, PromotionList, PromotionListQuery, PromotionPlanBody, ReasonBody, ShadowBody, ShadowChanged, ShadowList } from "./promotions";
import { ActivateBody, HistoryQuery, Pagination, ThresholdQuery, ThresholdResponse } from "./serving";
import { Delivery, DeliveryQuery, WebhookCreate, WebhookDeleted, WebhookEndpoint, WebhookUpdate } from "./webhooks";

/** Token scopes; they nest: admin includes calibrate includes read. */
export type Scope = "read" | "calibrate" | "admin";
export const SCOPES: readonly Scope[] = ["read", "calibrate", "admin"];

export type Method = "get" | "post" | "patch" | "delete";

/**
 * The groups of the API reference, in the order it shows them (OpenAPI `tags`): the reference at /docs opens the first
 * group and lists the others by name, each expanded on demand, so a reader lands on the calibrations a rebuild
 * pipeline uploads rather than on a page of every operation (all of them rendered at once is about 22,000 elements).
 */
export const ROUTE_TAGS = {
  calibrations: { name: "Calibrations", description: "Upload score samples, fit gates, and choose which calibration a gate serves" },
  serving: { name: "Serving", description: "What RAG services read: a gate's threshold, and its changes pushed as they happen" },
  monitoring: {
    name: "Monitoring",
    description: "What RAG services report from production (per-query counts, judged queries), and the drift it shows",
  },
  alerts: { name: "Alerts", description: "Drift, shifts and uncalibrated requests, with every occurrence's numbers" },
  webhooks: { name: "Webhooks", description: "Where alerts are delivered, and each delivery" },
  promotions: { name: "Shadows and promotions", description: "Shadow evaluation on live traffic and guarded, progressive promotion" },
  service: { name: "Service", description: "Health, this document, and Prometheus metrics" },
} as const;
export type RouteTag = keyof typeof ROUTE_TAGS;

/** A request body content type: a schema (JSON), or a description of a non-JSON encoding. */
export type BodyContent = z.ZodType | { readonly description: string; readonly format?: "binary" };

export interface ResponseSpec {
  readonly description: string;
  /** The JSON body's schema; absent for bodies that are not JSON (see `contentType`) or empty. */
  readonly schema?: z.ZodType;
  /** Non-JSON response media type (for example Prometheus text). */
  readonly contentType?: string;
  /** Other media types of the same answer besides the schema's JSON, chosen by the request (type -> description). */
  readonly alternatives?: Readonly<Record<string, string>>;
}

export interface RequestBodySpec {
  readonly required: boolean;
  readonly content: Readonly<Record<string, BodyContent>>;
}

export interface RouteSpec {
  readonly method: Method;
  /** OpenAPI path template: `/v1/calibrations/{id}`. */
  readonly path: string;
  /** Its group in the API reference. */
  readonly tag: RouteTag;
  /** The least scope that may call it; null for public routes. */
  readonly scope: Scope | null;
  readonly summary: string;
  readonly query?: z.ZodObject;
  readonly headers?: readonly { readonly name: string; readonly maxLength: number; readonly description: string }[];
  readonly body?: RequestBodySpec;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Error statuses the route answers besides 401/403 (added for every authenticated route). */
  readonly errors: readonly number[];
}

/** A JSON request body; the schema's type is kept, so a handler's input is typed from the table (platform/http/handle.ts). */
const json = <S extends z.ZodType>(schema: S, required = true) =>
  ({ required, content: { "application/json": schema } }) as const satisfies RequestBodySpec;

/** The resume point of an event stream: the `id:` of the last event the client applied (or `?after=`). */
const LAST_EVENT_ID = {
  name: "Last-Event-ID",
  maxLength: 16,
  description: "the seq of the last event applied: the stream replays the gate's events after it (or sends a snapshot)",
} as const;

const EVENT_STREAM =
  "text/event-stream: `retry:` first, then `event: gate` frames (`id:` = seq, data = GateEvent), `event: snapshot` when a replay is impossible, and `event: heartbeat` (GateHeartbeat) every 15 s";

export const ROUTES = {
  index: {
    method: "get",
    path: "/",
    tag: "service",
    scope: null,
    summary: "What this service is and where its documents are",
    responses: {
      200: { description: "service index", schema: ServiceIndex },
      302: { description: "a browser (Accept: text/html) is redirected to the dashboard at /ui" },
    },
    errors: [],
  },
  health: {
    method: "get",
    path: "/healthz",
    tag: "service",
    scope: null,
    summary: "Liveness and readiness (503 not_migrated before the D1 migrations are applied)",
    responses: { 200: { description: "ok", schema: Health } },
    errors: [503],
  },
  openapi: {
    method: "get",
    path: "/openapi.json",
    tag: "service",
    scope: null,
    summary: "This OpenAPI 3.1 document",
    responses: { 200: { description: "the document", contentType: "application/json" } },
    errors: [],
  },
  getThreshold: {
    method: "get",
    path: "/v1/threshold",
    tag: "serving",
    scope: "read",
    summary: "The current threshold of a gate",
    query: ThresholdQuery,
    responses: {
      200: { description: "the threshold (ETag: the calibration id and its activation sequence number)", schema: ThresholdResponse },
      304: { description: "not modified" },
    },
    errors: [400, 404],
  },
  // Pushed changes (src/contract/events.ts) -------------------------------------------------------------------
  streamEvents: {
    method: "get",
    path: "/v1/events",
    tag: "serving",
    scope: "read",
    summary: "Subscribe to a gate's changes (Server-Sent Events; resume with Last-Event-ID)",
    query: EventsQuery,
    headers: [LAST_EVENT_ID],
    responses: { 200: { description: EVENT_STREAM, contentType: "text/event-stream" } },
    errors: [400, 404, 429],
  },
  streamGateEvents: {
    method: "get",
    path: "/v1/gates/{gate_id}/events",
    tag: "serving",
    scope: "read",
    summary: "Subscribe to a gate's changes by gate id (Server-Sent Events; resume with Last-Event-ID)",
    query: GateEventsQuery,
    headers: [LAST_EVENT_ID],
    responses: { 200: { description: EVENT_STREAM, contentType: "text/event-stream" } },
    errors: [400, 404, 429],
  },
  // ----------------------------------------------------------------------------------------------------------------
  createCalibration: {
    method: "post",
    path: "/v1/calibrations",
    tag: "calibrations",
    scope: "calibrate",
    summary: "Fit and store a calibration (JSON, NDJSON or float32)",
    headers: [
      {
        name: "Idempotency-Key",
        maxLength: MAX_IDEMPOTENCY_KEY_LENGTH,
        description: "replays the first response to a retried upload",
      },
    ],
    body: {
      required: true,
      content: {
        "application/json": CalibrationUpload,
        "application/x-ndjson": { description: "line 1: the calibration's fields without scores; then one score or one query per line" },
        "application/octet-stream": { description: "little-endian float32 scores; the other fields as query parameters", format: "binary" },
      },
    },
    responses: {
      200: { description: "dry run (dry_run: true): the same answer, nothing stored, activated or raised", schema: CalibrationCreated },
      201: { description: "created", schema: CalibrationCreated },
    },
    errors: [400, 409, 413, 415, 422],
  },
  listCalibrations: {
    method: "get",
    path: "/v1/calibrations",
    tag: "calibrations",
    scope: "read",
    summary: "History of a gate, newest first",
    query: HistoryQuery,
    responses: { 200: { description: "a page", schema: CalibrationHistory } },
    errors: [400],
  },
  getCalibration: {
    method: "get",
    path: "/v1/calibrations/{id}",
    tag: "calibrations",
    scope: "read",
    summary: "One calibration",
    responses: { 200: { description: "the calibration", schema: Calibration } },
    errors: [404],
  },
  activateCalibration: {
    method: "post",
    path: "/v1/calibrations/{id}/activate",
    tag: "calibrations",
    scope: "admin",
    summary: "Promote or roll back",
    body: json(ActivateBody, false),
    responses: { 200: { description: "activated", schema: ActivationResult } },
    errors: [404, 422],
  },
  listGates: {
    method: "get",
    path: "/v1/gates",
    tag: "calibrations",
    scope: "read",
    summary: "Gates with their active calibrations, in creation order, a page at a time",
    query: Pagination,
    responses: { 200: { description: "a page of gates", schema: GateList } },
    errors: [400],
  },
  postObservations: {
    method: "post",
    path: "/v1/observations",
    tag: "monitoring",
    scope: "read",
    summary: "Report per-query counts from production",
    body: json(ObservationBatch),
    responses: { 202: { description: "accepted (or a duplicate)", schema: ObservationAccepted } },
    errors: [400, 404, 413, 415, 422],
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
      },
    },
    errors: [400, 404],
  },
  listAlerts: {
    method: "get",
    path: "/v1/alerts",
    tag: "alerts",
    scope: "read",
    summary: "Alerts, newest first, a page at a time",
    query: AlertQuery,
    responses: { 200: { description: "a page of alerts", schema: AlertList } },
    errors: [400],
  },
  getAlert: {
    method: "get",
    path: "/v1/alerts/{id}",
    tag: "alerts",
    scope: "read",
    summary: "One alert",
    responses: { 200: { description: "the alert", schema: Alert } },
    errors: [404],
  },
  listAlertOccurrences: {
    method: "get",
    path: "/v1/alerts/{id}/occurrences",
    tag: "alerts",
    scope: "read",
    summary: "Every occurrence of an alert with its own numbers, newest first",
    query: AlertOccurrenceQuery,
    responses: { 200: { description: "occurrences", schema: AlertOccurrenceList } },
    errors: [400, 404],
  },
  acknowledgeAlert: {
    method: "post",
    path: "/v1/alerts/{id}/acknowledge",
    tag: "alerts",
    scope: "admin",
    summary: "Acknowledge",
    body: json(AlertAction, false),
    responses: { 200: { description: "acknowledged", schema: Alert } },
    errors: [404, 409, 422],
  },
  resolveAlert: {
    method: "post",
    path: "/v1/alerts/{id}/resolve",
    tag: "alerts",
    scope: "admin",
    summary: "Resolve",
    body: json(AlertAction, false),
    responses: { 200: { description: "resolved", schema: Alert } },
    errors: [404, 422],
  },
  createWebhook: {
    method: "post",
    path: "/v1/webhooks",
    tag: "webhooks",
    scope: "admin",
    summary: "Add a webhook endpoint",
    body: json(WebhookCreate),
    responses: { 201: { description: "created, with its secret", schema: WebhookEndpoint } },
    errors: [409, 422],
  },
  listWebhooks: {
    method: "get",
    path: "/v1/webhooks",
    tag: "webhooks",
    scope: "admin",
    summary: "Webhook endpoints (secrets masked)",
    responses: { 200: { description: "endpoints", schema: WebhookEndpointList } },
    errors: [],
  },
  updateWebhook: {
    method: "patch",
    path: "/v1/webhooks/{id}",
    tag: "webhooks",
    scope: "admin",
    summary: "Update or rotate a webhook endpoint",
    body: json(WebhookUpdate),
    responses: { 200: { description: "updated", schema: WebhookEndpoint } },
    errors: [404, 422],
  },
  deleteWebhook: {
    method: "delete",
    path: "/v1/webhooks/{id}",
    tag: "webhooks",
    scope: "admin",
    summary: "Delete a webhook endpoint (its pending deliveries fail; past deliveries stay listed)",
    responses: { 200: { description: "deleted", schema: WebhookDeleted } },
    errors: [404],
  },
  listDeliveries: {
    method: "get",
    path: "/v1/webhooks/deliveries",
    tag: "webhooks",
    scope: "admin",
    summary: "Webhook deliveries",
    query: DeliveryQuery,
    responses: { 200: { description: "deliveries", schema: DeliveryList } },
    errors: [400],
  },
  replayDelivery: {
    method: "post",
    path: "/v1/webhooks/deliveries/{id}/replay",
    tag: "webhooks",
    scope: "admin",
    summary: "Replay a delivery",
    responses: { 200: { description: "pending again", schema: Delivery } },
    errors: [404, 409],
  },
  // --- promotion contract: shadow calibrations and guarded promotion ---------------------------------------------
  addShadow: {
    method: "post",
    path: "/v1/calibrations/{id}/shadow",
    tag: "promotions",
    scope: "admin",
    summary: "Evaluate a stored, unserved calibration on mirrored live traffic (a shadow of its gate)",
    body: json(ShadowBody, false),
    responses: { 200: { description: "the gate's shadows after it", schema: ShadowChanged } },
    errors: [404, 409, 422],
  },
  removeShadow: {
    method: "delete",
    path: "/v1/calibrations/{id}/shadow",
    tag: "promotions",
    scope: "admin",
    summary: "Stop evaluating a shadow",
    responses: { 200: { description: "the gate's shadows after it", schema: ShadowChanged } },
    errors: [404, 409],
  },
  listShadows: {
    method: "get",
    path: "/v1/gates/{gate_id}/shadows",
    tag: "promotions",
    scope: "read",
    summary: "A gate's shadows with their live decisions against their targets and against the active gate",
    responses: { 200: { description: "the shadows", schema: ShadowList } },
    errors: [404],
  },
  promoteCalibration: {
    method: "post",
    path: "/v1/calibrations/{id}/promote",
    tag: "promotions",
    scope: "admin",
    summary: "Start a guarded promotion: straight ([100]) or progressive in steps, paused or rolled back on a regression",
    body: json(PromotionPlanBody, false),
    responses: { 201: { description: "started", schema: Promotion } },
    errors: [404, 409, 422],
  },
  getPromotion: {
    method: "get",
    path: "/v1/promotions/{id}",
    tag: "promotions",
    scope: "read",
    summary: "A promotion: plan, state, the running step's evidence and every transition with its numbers",
    responses: { 200: { description: "the promotion", schema: Promotion } },
    errors: [404],
  },
  listGatePromotions: {
    method: "get",
    path: "/v1/gates/{gate_id}/promotions",
    tag: "promotions",
    scope: "read",
    summary: "A gate's promotions, newest first",
    query: PromotionListQuery,
    responses: { 200: { description: "a page of promotions", schema: PromotionList } },
    errors: [400, 404],
  },
  pausePromotion: {
    method: "post",
    path: "/v1/promotions/{id}/pause",
    tag: "promotions",
    scope: "admin",
    summary: "Pause a promotion: hold its split, stop advancing",
    body: json(ReasonBody, false),
    responses: { 200: { description: "the promotion after it", schema: Promotion } },
    errors: [404, 409, 422],
  },
  resumePromotion: {
    method: "post",
    path: "/v1/promotions/{id}/resume",
    tag: "promotions",
    scope: "admin",
    summary: "Resume a paused promotion at its step",
    body: json(ReasonBody, false),
    responses: { 200: { description: "the promotion after it", schema: Promotion } },
    errors: [404, 409, 422],
  },
  advancePromotion: {
    method: "post",
    path: "/v1/promotions/{id}/advance",
    tag: "promotions",
    scope: "admin",
    summary: "Advance a promotion one step without waiting for the evidence (logged as such)",
    body: json(ReasonBody, false),
    responses: { 200: { description: "the promotion after it", schema: Promotion } },
    errors: [404, 409, 422],
  },
  rollbackPromotion: {
    method: "post",
    path: "/v1/promotions/{id}/rollback",
    tag: "promotions",
    scope: "admin",
    summary: "Roll a promotion back: the candidate serves no traffic, the promotion ends",
    body: json(ReasonBody, false),
    responses: { 200: { description: "the promotion after it", schema: Promotion } },
    errors: [404, 409, 422],
  },
  // --- end promotion contract ---------------------------------------------------------------------------------
  metrics: {
    method: "get",
    path: "/metrics",
    tag: "service",
    scope: "read",
    summary: "Prometheus metrics",
    responses: { 200: { description: "Prometheus text format 0.0.4", contentType: "text/plain" } },
    errors: [],
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;

/** The path parameter names of a path template (`/v1/alerts/{id}` -> ["id"]). */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/gu)].map((m) => m[1]!);
}
