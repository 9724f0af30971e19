-- Guarded promotions (src/promotions/). Never edit once landed. Layout: docs/storage.md ("Promotions").
--
-- The promotion's state of record. A transition is one D1 batch: the row's update conditional on its `version` (a
-- decision computed against an older version changes nothing) and its audit row, inserted only if that update won.
CREATE TABLE promotions (
  id                        TEXT PRIMARY KEY,         -- prm_<time><random>
  gate_id                   TEXT NOT NULL REFERENCES gates (gate_id),
  candidate_calibration_id  TEXT NOT NULL REFERENCES calibrations (id),
  control_calibration_id    TEXT NOT NULL REFERENCES calibrations (id),
  plan                      TEXT NOT NULL,            -- JSON PromotionPlan (src/contract/promotions.ts), defaults resolved
  state                     TEXT NOT NULL,            -- running | paused | completed | rolled_back | superseded
  step                      INTEGER NOT NULL,         -- zero-based index into plan.steps
  version                   INTEGER NOT NULL,         -- bumped by every transition
  started_at                TEXT NOT NULL,
  updated_at                TEXT NOT NULL,
  actor                     TEXT NOT NULL
);
-- One open promotion per gate: a second start fails on this index (409).
CREATE UNIQUE INDEX promotions_one_open ON promotions (gate_id) WHERE state IN ('running', 'paused');
CREATE INDEX promotions_by_gate ON promotions (gate_id, started_at);

-- The audit log of every promotion: start, advance, pause, resume, rollback, completion, supersession, with numbers.
-- `id` is the transition's id (<promotion>:<version>:<kind>): replaying a transition inserts nothing.
CREATE TABLE promotion_steps (
  id            TEXT PRIMARY KEY,
  promotion_id  TEXT NOT NULL REFERENCES promotions (id),
  ord           INTEGER NOT NULL,                        -- the promotion's version after the transition
  kind          TEXT NOT NULL,                           -- PromotionStepKind
  cause         TEXT NOT NULL,                           -- PromotionCause
  step          INTEGER NOT NULL,
  percent       REAL NOT NULL,
  seq           INTEGER,                                 -- the activation-log row of the transition (NULL: none)
  at            TEXT NOT NULL,
  actor         TEXT NOT NULL,
  reason        TEXT,
  numbers       TEXT NOT NULL DEFAULT '{}'               -- JSON: the decisions and counts behind it
);
CREATE INDEX promotion_steps_by_promotion ON promotion_steps (promotion_id, ord);
