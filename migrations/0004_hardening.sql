-- Alert notes and occurrence history; webhook endpoint deletion. Never edit once landed. Layout: docs/storage.md.

-- The note given with acknowledge / resolve (the API accepted it before and now keeps it).
ALTER TABLE alerts ADD COLUMN acknowledged_note TEXT;
ALTER TABLE alerts ADD COLUMN resolved_note TEXT;

-- Every occurrence of an alert with its own numbers. The alert row keeps the first occurrence's summary and details;
-- repeats only add a row here (and bump occurrences / last_seen_at on the alert).
CREATE TABLE alert_occurrences (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id        TEXT NOT NULL REFERENCES alerts (id),
  seen_at         TEXT NOT NULL,
  summary         TEXT NOT NULL,
  details         TEXT NOT NULL,             -- JSON
  calibration_ids TEXT NOT NULL              -- JSON array
);
CREATE INDEX alert_occurrences_by_alert ON alert_occurrences (alert_id, seq DESC);

-- The first occurrence of every alert raised before this migration.
INSERT INTO alert_occurrences (alert_id, seen_at, summary, details, calibration_ids)
  SELECT id, first_seen_at, summary, details, calibration_ids FROM alerts;

-- DELETE /v1/webhooks/{id} keeps the row (its deliveries reference it and stay visible) but retires it for good.
ALTER TABLE webhook_endpoints ADD COLUMN deleted_at TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN deleted_by TEXT;
