CREATE TABLE "orders"."consumer_failures" (
	"event_id" text NOT NULL,
	"consumer" text NOT NULL,
	"failures" integer NOT NULL,
	"last_error" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consumer_failures_event_id_consumer_pk" PRIMARY KEY("event_id","consumer")
);
