-- Who made a webhook endpoint as it stands: the token name that created it or last changed it (PATCH /v1/webhooks/{id},
-- disabling it included: silencing the pager is an act of record). NULL for endpoints last changed before this
-- migration. Never edit once landed. Layout: docs/storage.md ("Webhooks").
ALTER TABLE webhook_endpoints ADD COLUMN updated_by TEXT;
