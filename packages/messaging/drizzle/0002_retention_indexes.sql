-- Retention (packages/messaging/src/retention.ts) picks the rows past their window by these
-- columns, a small batch at a time: each needs an index, or every batch would scan the table.
CREATE INDEX IF NOT EXISTS "inbox_processed_at_idx" ON "inbox" USING btree ("processed_at");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "consumer_failures_updated_at_idx" ON "consumer_failures" USING btree ("updated_at");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "outbox_published_at_idx" ON "outbox" USING btree ("published_at") WHERE published_at IS NOT NULL;
