/**
 * The OpenAPI 3.1 document, derived from the zod schemas in schemas/ (z.toJSONSchema), so it cannot drift from
 * what the routes validate. Served at GET /openapi.json; docs/api.md is the prose companion.
 */
import { z } from "zod";
import * as S from "./schemas";

type Scope = "read" | "calibrate" | "admin" | null;

const schema = (s: z.ZodType, io: "input" | "output") => z.toJSONSchema(s, { io, unrepresentable: "any" });

const jsonBody = (s: z.ZodType) => ({ required: true, content: { "application/json": { schema: schema(s, "input") } } });

const ok = (s: z.ZodType, description: string) => ({ description, content: { "application/json": { schema: schema(s, "output") } } });

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((st) => [String(st), { description: "error", content: { "application/json": { schema: schema(S.ErrorResponse, "output") } } }]),
  );

function queryParams(obj: z.ZodObject): object[] {
  return Object.entries(obj.shape).map(([name, s]) => ({
    name,
    in: "query",
    required: !(s as z.ZodType).safeParse(undefined).success,
    schema: schema(s as z.ZodType, "input"),
  }));
}

const idParam = (name = "id") => ({ name, in: "path", required: true, schema: { type: "string" } });

function op(scope: Scope, summary: string, rest: Record<string, unknown>) {
  return {
    summary,
    ...(scope === null ? { security: [] } : { security: [{ bearer: [] }], "x-scope": scope }),
    ...rest,
    responses: { ...(rest.responses as object), ...(scope === null ? {} : errors(401, 403)) },
  };
}

let cached: object | null = null;

/** The document (built once per isolate: it depends only on the schemas). */
export function openApiDocument(): object {
  cached ??= build();
  return cached;
}

function build(): object {
  return {
    openapi: "3.1.0",
    info: {
      title: "scoregate",
      version: "0.1.0",
      description: "Calibrated, served and watched retrieval score cutoffs. Scopes nest: read < calibrate < admin.",
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths: {
      "/healthz": { get: op(null, "Liveness", { responses: { "200": ok(S.Health, "ok"), ...errors(503) } }) },
      "/v1/threshold": {
        get: op("read", "The current threshold of a gate", {
          parameters: queryParams(S.ThresholdQuery),
          responses: {
            "200": ok(S.ThresholdResponse, "the threshold (ETag: the calibration id)"),
            "304": { description: "not modified" },
            ...errors(400, 404),
          },
        }),
      },
      "/v1/calibrations": {
        post: op("calibrate", "Fit and store a calibration (JSON, NDJSON or float32)", {
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: schema(S.CalibrationUpload, "input") },
              "application/x-ndjson": { schema: { type: "string", description: "line 1: CalibrationMeta; then one score or one query per line" } },
              "application/octet-stream": { schema: { type: "string", format: "binary", description: "little-endian float32 scores" } },
            },
          },
          parameters: [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", maxLength: 255 } }],
          responses: { "201": ok(S.CalibrationCreated, "created"), ...errors(400, 409, 413, 415, 422) },
        }),
        get: op("read", "History of a gate, newest first", {
          parameters: queryParams(S.HistoryQuery),
          responses: { "200": ok(S.CalibrationHistory, "a page"), ...errors(400) },
        }),
      },
      "/v1/calibrations/{id}": {
        get: op("read", "One calibration", { parameters: [idParam()], responses: { "200": ok(S.Calibration, "the calibration"), ...errors(404) } }),
      },
      "/v1/calibrations/{id}/activate": {
        post: op("admin", "Promote or roll back", {
          parameters: [idParam()],
          requestBody: { ...jsonBody(S.ActivateBody), required: false },
          responses: { "200": ok(S.ActivationResult, "activated"), ...errors(404, 422) },
        }),
      },
      "/v1/gates": { get: op("read", "Every gate with its active calibrations", { responses: { "200": ok(S.GateList, "gates") } }) },
      "/v1/observations": {
        post: op("read", "Report per-query counts from production", {
          requestBody: jsonBody(S.ObservationBatch),
          responses: { "202": ok(S.ObservationAccepted, "accepted (or a duplicate)"), ...errors(400, 404, 413, 415, 422) },
        }),
      },
      "/v1/monitor": {
        get: op("read", "Drift windows of a gate", {
          parameters: queryParams(S.MonitorQuery),
          responses: { "200": ok(S.MonitorStatus, "status"), ...errors(400) },
        }),
      },
      "/v1/alerts": {
        get: op("read", "Alerts, newest first", {
          parameters: queryParams(S.AlertQuery),
          responses: { "200": ok(S.AlertList, "alerts"), ...errors(400) },
        }),
      },
      "/v1/alerts/{id}": {
        get: op("read", "One alert", { parameters: [idParam()], responses: { "200": ok(S.Alert, "the alert"), ...errors(404) } }),
      },
      "/v1/alerts/{id}/acknowledge": {
        post: op("admin", "Acknowledge", { parameters: [idParam()], responses: { "200": ok(S.Alert, "acknowledged"), ...errors(404, 409) } }),
      },
      "/v1/alerts/{id}/resolve": {
        post: op("admin", "Resolve", { parameters: [idParam()], responses: { "200": ok(S.Alert, "resolved"), ...errors(404) } }),
      },
      "/v1/webhooks": {
        post: op("admin", "Add a webhook endpoint", {
          requestBody: jsonBody(S.WebhookCreate),
          responses: { "201": ok(S.WebhookEndpoint, "created, with its secret"), ...errors(409, 422) },
        }),
        get: op("admin", "Webhook endpoints (secrets masked)", { responses: { "200": ok(S.WebhookEndpointList, "endpoints") } }),
      },
      "/v1/webhooks/{id}": {
        patch: op("admin", "Update or rotate a webhook endpoint", {
          parameters: [idParam()],
          requestBody: jsonBody(S.WebhookUpdate),
          responses: { "200": ok(S.WebhookEndpoint, "updated"), ...errors(404, 422) },
        }),
      },
      "/v1/webhooks/deliveries": {
        get: op("admin", "Webhook deliveries", {
          parameters: queryParams(S.DeliveryQuery),
          responses: { "200": ok(S.DeliveryList, "deliveries"), ...errors(400) },
        }),
      },
      "/v1/webhooks/deliveries/{id}/replay": {
        post: op("admin", "Replay a delivery", { parameters: [idParam()], responses: { "200": ok(S.Delivery, "pending again"), ...errors(404) } }),
      },
      "/metrics": {
        get: op("read", "Prometheus metrics", {
          responses: { "200": { description: "text/plain; version=0.0.4", content: { "text/plain": { schema: { type: "string" } } } } },
        }),
      },
    },
  };
}
