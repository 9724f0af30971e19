-- GET /v1/webhooks/deliveries pages newest first, by (created_at DESC, id), from a cursor (src/webhooks/d1-store.ts):
-- an index in that order for the listing and for each of its filters, so a page reads its own rows instead of
-- sorting every delivery that matches. An alert's page reads its deliveries through its events. Never edit once
-- landed. Layout: docs/storage.md ("Webhooks").
CREATE INDEX webhook_deliveries_newest ON webhook_deliveries (created_at DESC, id);
CREATE INDEX webhook_deliveries_by_status ON webhook_deliveries (status, created_at DESC, id);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at DESC, id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_events_by_alert ON webhook_events (alert_id);
