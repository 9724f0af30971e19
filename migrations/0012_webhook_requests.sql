-- A webhook endpoint created under an Idempotency-Key keeps its request's digest (src/webhooks/endpoints.ts), so the
-- retry of a request that died after the endpoint was stored, but before its key was completed, finds that endpoint
-- instead of creating a second one. Never edit once landed. Layout: docs/storage.md ("Webhooks").
ALTER TABLE webhook_endpoints ADD COLUMN created_by TEXT; -- NULL: created without a key (or before this migration)
-- Live endpoints only: once an endpoint is deleted, its key (expired by then, or reused after its 24 hours) may create
-- another.
CREATE UNIQUE INDEX webhook_endpoints_by_request ON webhook_endpoints (created_by) WHERE created_by IS NOT NULL AND deleted_at IS NULL;
