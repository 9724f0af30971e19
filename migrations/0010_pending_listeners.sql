-- Which committed changes of a gate still owe their listeners (src/calibrations/pending-listeners.ts). Never edit once
-- landed. Layout: docs/storage.md ("0010_pending_listeners.sql").
--
-- Every row of the activation log is written with its marker here, in the same D1 batch: the listeners that follow a
-- change (the KV publish, the push to the gate's subscribers, the rebuild_shift alert, a promotion's supersession)
-- run after the commit, and the marker is deleted once they all ran. A request that dies in between leaves its marker:
-- the cron tick runs that change's listeners once the marker is older than ACTIVATION_LISTENERS_GRACE_MS
-- (src/platform/limits.ts), so a live request is never raced, and deletes it. Rows from before this migration have
-- no marker: their listeners ran or were repaired by reconciliation long ago.
CREATE TABLE pending_listeners (
  activation_id TEXT PRIMARY KEY REFERENCES activations (id),
  gate_id       TEXT NOT NULL,
  committed_at  TEXT NOT NULL,  -- the row's activated_at: the grace period counts from here
  shift         TEXT            -- JSON ShiftReport the listeners get (the rebuild_shift alert's); NULL: none
) WITHOUT ROWID;
CREATE INDEX pending_listeners_by_time ON pending_listeners (committed_at);
