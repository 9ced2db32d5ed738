-- Idempotency keys per caller: the key of a row is (owner, key), owner = "<issuer> <subject>".
-- Rows written before callers were known get " <customer_id>" (no issuer): their customer still replays them.
ALTER TABLE "orders"."idempotency_keys" ADD COLUMN "owner" text;--> statement-breakpoint
UPDATE "orders"."idempotency_keys" k SET "owner" = ' ' || o."customer_id" FROM "orders"."orders" o WHERE o."id" = k."order_id";--> statement-breakpoint
UPDATE "orders"."idempotency_keys" SET "owner" = ' ' WHERE "owner" IS NULL;--> statement-breakpoint
ALTER TABLE "orders"."idempotency_keys" ALTER COLUMN "owner" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "orders"."idempotency_keys" DROP CONSTRAINT "idempotency_keys_pkey";--> statement-breakpoint
ALTER TABLE "orders"."idempotency_keys" ADD CONSTRAINT "idempotency_keys_owner_key_pk" PRIMARY KEY("owner","key");
