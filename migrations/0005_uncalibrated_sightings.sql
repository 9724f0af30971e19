-- Which token asked for which uncalibrated gate in which minute (src/alerts/uncalibrated-alert.ts): an
-- uncalibrated_request alert is raised only for a token that keeps asking (UNCALIBRATED_ALERT_MIN_MINUTES distinct
-- minutes within UNCALIBRATED_ALERT_WINDOW_MINUTES), so a person's lookup never pages anyone. Rows older than the
-- window are deleted by the next sighting's batch.
CREATE TABLE uncalibrated_sightings (
  gate_id TEXT NOT NULL,     -- no foreign key: the gate is usually one that does not exist
  token   TEXT NOT NULL,     -- the token's name (READ_TOKENS etc.), never the token
  minute  INTEGER NOT NULL,  -- Unix minutes (ms / 60,000, floored)
  PRIMARY KEY (gate_id, token, minute)
) WITHOUT ROWID;
CREATE INDEX uncalibrated_sightings_by_minute ON uncalibrated_sightings (minute);
