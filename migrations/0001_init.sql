-- scoregate core: gates, immutable calibrations, append-only activations, and the active-state projection.
-- Never edit once landed; add a new numbered file instead. Layout and retention: docs/storage.md.

CREATE TABLE gates (
  gate_id    TEXT PRIMARY KEY,          -- first 32 hex chars of SHA-256 over JSON [index, embedding, reranker] (NFC)
  idx        TEXT NOT NULL,
  embedding  TEXT NOT NULL,
  reranker   TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE calibrations (
  seq                INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order (ids made in the same ms stay ordered)
  id                 TEXT NOT NULL UNIQUE,  -- cal_<12 hex ms timestamp><16 hex random>
  gate_id            TEXT NOT NULL REFERENCES gates (gate_id),
  index_version      TEXT NOT NULL,
  threshold          REAL,              -- NULL: no gate (target 0)
  expected_drop_rate REAL NOT NULL,
  n                  INTEGER NOT NULL,
  record             TEXT NOT NULL,     -- JSON of the immutable calibration (schemas.ts StoredCalibration)
  distribution       BLOB NOT NULL,     -- knots + exact counts (src/storage/distribution-codec.ts), <= 48 KB
  created_at         TEXT NOT NULL,
  created_by         TEXT NOT NULL
);
CREATE INDEX calibrations_by_gate ON calibrations (gate_id, seq DESC);

-- Append-only audit of every activation (promote or roll back): who, when, what it replaced.
CREATE TABLE activations (
  seq                     INTEGER PRIMARY KEY AUTOINCREMENT,  -- activation order: the newest is the gate's current
  id                      TEXT NOT NULL UNIQUE,  -- act_<12 hex ms timestamp><16 hex random>
  gate_id                 TEXT NOT NULL REFERENCES gates (gate_id),
  index_version           TEXT NOT NULL,
  calibration_id          TEXT NOT NULL REFERENCES calibrations (id),
  previous_calibration_id TEXT,
  activated_at            TEXT NOT NULL,
  actor                   TEXT NOT NULL,     -- name of the token that made it
  reason                  TEXT
);
CREATE INDEX activations_by_gate ON activations (gate_id, seq DESC);

-- Current state, derived from activations (kept in the same D1 batch): one row per (gate, index_version).
-- The gate's current calibration is the row with the greatest activation_seq.
CREATE TABLE active_calibrations (
  gate_id        TEXT NOT NULL REFERENCES gates (gate_id),
  index_version  TEXT NOT NULL,
  calibration_id TEXT NOT NULL REFERENCES calibrations (id),
  activation_id  TEXT NOT NULL REFERENCES activations (id),
  activation_seq INTEGER NOT NULL,
  activated_at   TEXT NOT NULL,
  PRIMARY KEY (gate_id, index_version)
);
CREATE INDEX active_by_gate ON active_calibrations (gate_id, activation_seq DESC);

-- Stripe-style idempotency for uploads: same key and body replays the stored response.
CREATE TABLE idempotency_keys (
  actor        TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER,                 -- NULL while in flight
  response     TEXT,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (actor, key)
);
