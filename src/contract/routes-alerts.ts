/** The alert operations of the route table: listing alerts and their occurrences, acknowledging and resolving them. */
import { Alert, AlertAction, AlertOccurrencePage, AlertOccurrenceQuery, AlertQuery } from "./alerts";
import { AlertList } from "./envelopes";
import { json, type RouteSpec } from "./route-spec";

export const alertRoutes = {
  listAlerts: {
    method: "get",
    path: "/v1/alerts",
    tag: "alerts",
    scope: "read",
    summary: "Alerts, newest first, a page at a time",
    query: AlertQuery,
    responses: { 200: { description: "a page of alerts", schema: AlertList } },
    errors: [400, 404],
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
    summary: "The occurrences of an alert with their own numbers, newest first, a page at a time",
    query: AlertOccurrenceQuery,
    responses: { 200: { description: "a page of occurrences", schema: AlertOccurrencePage } },
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
    errors: [400, 404, 409, 413, 415, 422],
  },
  resolveAlert: {
    method: "post",
    path: "/v1/alerts/{id}/resolve",
    tag: "alerts",
    scope: "admin",
    summary: "Resolve",
    body: json(AlertAction, false),
    responses: { 200: { description: "resolved", schema: Alert } },
    errors: [400, 404, 413, 415, 422],
  },
} as const satisfies Record<string, RouteSpec>;
