-- An outbox row's created_at is when the row was written, not when its transaction began
-- (now()): the relay lag (created_at to published_at) then measures the relay, not the
-- writer's transaction.
ALTER TABLE "outbox" ALTER COLUMN "created_at" SET DEFAULT clock_timestamp();
