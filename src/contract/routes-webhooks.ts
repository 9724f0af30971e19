/** The webhook operations of the route table: endpoints, their deliveries, and replaying one. */
import { WebhookEndpointList } from "./envelopes";
import { IDEMPOTENCY_KEY_HEADER, json, type RouteSpec } from "./route-spec";
import { Delivery, DeliveryPage, DeliveryQuery, WebhookCreate, WebhookDeleted, WebhookEndpoint, WebhookUpdate } from "./webhooks";

export const webhookRoutes = {
  createWebhook: {
    method: "post",
    path: "/v1/webhooks",
    tag: "webhooks",
    scope: "admin",
    headers: IDEMPOTENCY_KEY_HEADER,
    summary: "Add a webhook endpoint",
    body: json(WebhookCreate),
    responses: { 201: { description: "created, with its secret", schema: WebhookEndpoint } },
    errors: [400, 409, 413, 415, 422],
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
    errors: [400, 404, 413, 415, 422],
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
    summary: "Webhook deliveries, newest first, a page at a time",
    query: DeliveryQuery,
    responses: { 200: { description: "a page of deliveries", schema: DeliveryPage } },
    errors: [400, 404],
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
} as const satisfies Record<string, RouteSpec>;
