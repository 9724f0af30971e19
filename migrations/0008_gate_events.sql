-- The activation log becomes the log of every change of a gate (pushed to subscribers as events). Never edit once
-- landed. Layout: docs/storage.md ("The activation log and gate events").
--
-- Every change a client acts on (an activation, a shadow added or removed, a promotion step) is one row of
-- `activations`, so its `seq` orders it among the gate's changes and is the event id clients resume from. Rows of one
-- gate form a linked list: `prev_seq` is the seq of the gate's row just before (0: the first), because seqs are
-- global across gates (monotone per gate, not dense).
ALTER TABLE activations ADD COLUMN kind TEXT NOT NULL DEFAULT 'activation';  -- a GateEventKind (src/contract/events.ts)
ALTER TABLE activations ADD COLUMN prev_seq INTEGER;  -- the gate's previous row's seq, 0 for its first
ALTER TABLE activations ADD COLUMN event TEXT;        -- the pushed GateEvent's JSON without seq; NULL on rows from before 0008

-- Earlier rows: each one's predecessor within its gate.
UPDATE activations SET prev_seq = (
  SELECT COALESCE(MAX(p.seq), 0) FROM activations p WHERE p.gate_id = activations.gate_id AND p.seq < activations.seq
);

-- The head of each gate's log, written in the same D1 batch as every row: a row is appended only while head_seq is
-- still the seq its writer computed against (the conditional write of concurrent changes), and it holds the served
-- state that is not a calibration: the open promotion's split and the shadow set.
CREATE TABLE gate_heads (
  gate_id  TEXT PRIMARY KEY REFERENCES gates (gate_id),
  head_seq INTEGER NOT NULL,            -- the seq of the gate's newest activations row
  rollout  TEXT,                        -- JSON: the open promotion's split; NULL when none
  shadows  TEXT NOT NULL DEFAULT '[]'   -- JSON array: the gate's shadow calibrations
);
INSERT INTO gate_heads (gate_id, head_seq) SELECT gate_id, MAX(seq) FROM activations GROUP BY gate_id;
