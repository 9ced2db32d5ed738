ALTER TABLE "orders"."orders" ADD COLUMN "stock_result" text;--> statement-breakpoint
ALTER TABLE "orders"."orders" ADD COLUMN "payment_result" text;--> statement-breakpoint
ALTER TABLE "orders"."orders" ADD COLUMN "payment_detail" text;--> statement-breakpoint
ALTER TABLE "orders"."orders" ADD COLUMN "payment_amount_cents" bigint;