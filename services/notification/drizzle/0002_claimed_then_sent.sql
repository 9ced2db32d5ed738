ALTER TABLE "notifications"."notifications" ALTER COLUMN "sent_at" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "notifications"."notifications" ALTER COLUMN "sent_at" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications"."notifications" ADD COLUMN "claimed_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications"."notifications" ADD COLUMN "next_attempt_at" timestamp with time zone DEFAULT now() + interval '10 seconds' NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications"."notifications" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications"."notifications" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "notifications"."notifications" ADD COLUMN "event_headers" jsonb;--> statement-breakpoint
CREATE INDEX "notifications_unsent_idx" ON "notifications"."notifications" USING btree ("next_attempt_at") WHERE sent_at IS NULL;