-- The messaging tables, in the schema of the service that runs this (migrateSchema
-- sets search_path to it): the outbox, the inbox and the consumers' failure counts.
-- Their drizzle definitions are outboxTable, inboxTable and consumerFailuresTable.
-- IF NOT EXISTS: databases made before these tables moved here already have them.
CREATE TABLE IF NOT EXISTS "outbox" (
	"id" uuid PRIMARY KEY NOT NULL,
	"subject" text NOT NULL,
	"payload" bytea NOT NULL,
	"headers" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "outbox_unpublished_idx" ON "outbox" USING btree ("created_at") WHERE published_at IS NULL;
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "inbox" (
	"event_id" text NOT NULL,
	"consumer" text NOT NULL,
	"subject" text NOT NULL,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbox_event_id_consumer_pk" PRIMARY KEY("event_id","consumer")
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "consumer_failures" (
	"event_id" text NOT NULL,
	"consumer" text NOT NULL,
	"failures" integer NOT NULL,
	"last_error" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consumer_failures_event_id_consumer_pk" PRIMARY KEY("event_id","consumer")
);
