CREATE SCHEMA IF NOT EXISTS "inventory";
--> statement-breakpoint
CREATE TABLE "inventory"."reservations" (
	"order_id" uuid NOT NULL,
	"sku" text NOT NULL,
	"quantity" integer NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservations_order_id_sku_pk" PRIMARY KEY("order_id","sku"),
	CONSTRAINT "reservations_quantity_positive" CHECK ("inventory"."reservations"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "inventory"."stock" (
	"sku" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"unit_price_cents" bigint NOT NULL,
	"available" integer NOT NULL,
	"reserved" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stock_available_not_negative" CHECK ("inventory"."stock"."available" >= 0),
	CONSTRAINT "stock_reserved_not_negative" CHECK ("inventory"."stock"."reserved" >= 0)
);
--> statement-breakpoint
ALTER TABLE "inventory"."reservations" ADD CONSTRAINT "reservations_sku_stock_sku_fk" FOREIGN KEY ("sku") REFERENCES "inventory"."stock"("sku") ON DELETE no action ON UPDATE no action;
