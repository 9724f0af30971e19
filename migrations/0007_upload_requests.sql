-- The request that created a calibration, so a retried upload finds its committed result. Never edit once landed.
-- Layout: docs/storage.md.
--
-- An upload with an Idempotency-Key writes its key, the hash of its request and its activation outcome in the same
-- D1 batch as the calibration: a request that dies after that commit, before its key is completed, is recovered by
-- the retry (replayed, its side effects completed) instead of calibrating a second time.
ALTER TABLE calibrations ADD COLUMN idempotency_key TEXT;     -- NULL: uploaded without a key
ALTER TABLE calibrations ADD COLUMN request_hash TEXT;        -- SHA-256 of the request (src/platform/idempotency.ts)
ALTER TABLE calibrations ADD COLUMN activation_outcome TEXT;  -- JSON ActivationOutcome of the upload
CREATE UNIQUE INDEX calibrations_by_request ON calibrations (created_by, idempotency_key, request_hash)
  WHERE idempotency_key IS NOT NULL;
