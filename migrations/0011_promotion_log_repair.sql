-- The repair of promotion transitions whose log event was never written (src/promotions/service.ts repairPromotionLog).
-- Never edit once landed. Layout: docs/storage.md ("Promotions").
--
-- A transition is written to `promotions` and `promotion_steps` in one batch, and its event to the gate's activation
-- log after it; the audit row's `seq` is set once the event is written (and its alert raised). A row left with `seq`
-- NULL (the Worker died in between, or the log write failed) is found by the cron through this index, which holds
-- only such rows, and its event is written then, under the id derived from the audit row so it is written once.
CREATE INDEX promotion_steps_unlogged ON promotion_steps (at, ord) WHERE seq IS NULL;
