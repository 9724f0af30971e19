-- Alerts and their webhook delivery (issue: drop-rate drift). Layout and retention: docs/storage.md.

CREATE TABLE alerts (
  id               TEXT PRIMARY KEY,          -- alr_<12 hex ms><16 hex random>
  gate_id          TEXT NOT NULL,             -- no foreign key: uncalibrated_request alerts name gates that do not exist
  gate             TEXT NOT NULL,             -- JSON {index, embedding, reranker}
  kind             TEXT NOT NULL,             -- rebuild_shift | drop_rate_drift | empty_context | uncalibrated_request
  status           TEXT NOT NULL,             -- open | acknowledged | resolved
  summary          TEXT NOT NULL,             -- one human sentence (also the webhook's Slack text)
  details          TEXT NOT NULL,             -- JSON: the numbers that justify the alert
  calibration_ids  TEXT NOT NULL,             -- JSON array of the calibrations involved
  occurrences      INTEGER NOT NULL,          -- repeats update the open alert instead of opening another
  first_seen_at    TEXT NOT NULL,
  last_seen_at     TEXT NOT NULL,
  acknowledged_at  TEXT,
  acknowledged_by  TEXT,
  resolved_at      TEXT,
  resolved_by      TEXT
);
-- At most one unresolved alert per gate and kind.
CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (gate_id, kind) WHERE status <> 'resolved';
CREATE INDEX alerts_by_status ON alerts (status);  -- listings order by rowid (insertion order)

CREATE TABLE webhook_endpoints (
  id              TEXT PRIMARY KEY,           -- whk_...
  url             TEXT NOT NULL,
  secret          TEXT NOT NULL,              -- whsec_<base64>: Standard Webhooks signing secret
  description     TEXT,
  enabled         INTEGER NOT NULL,
  disabled_reason TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);

-- One event per thing that happened (alert opened, alert resolved); its id is the webhook-id on every attempt.
CREATE TABLE webhook_events (
  id         TEXT PRIMARY KEY,                -- msg_<alert id>_<type>: derived, so an event is never made twice
  type       TEXT NOT NULL,
  alert_id   TEXT NOT NULL REFERENCES alerts (id),
  payload    TEXT NOT NULL,                   -- the exact JSON body that is signed and sent
  created_at TEXT NOT NULL
);

-- One delivery per (event, endpoint): retried with backoff until delivered, failed, or replayed.
CREATE TABLE webhook_deliveries (
  id              TEXT PRIMARY KEY,           -- <event id>:<endpoint id>
  event_id        TEXT NOT NULL REFERENCES webhook_events (id),
  endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
  status          TEXT NOT NULL,              -- pending | delivered | failed
  attempts        INTEGER NOT NULL,
  next_attempt_at TEXT,                       -- ISO time; NULL once delivered or failed
  lease_until     TEXT,                       -- a sender holds the row until then (no double send)
  last_status     INTEGER,                    -- HTTP status of the last attempt (NULL: network error)
  last_error      TEXT,
  delivered_at    TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE INDEX deliveries_due ON webhook_deliveries (status, next_attempt_at);
