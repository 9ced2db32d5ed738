/** The inventory service's tables, in its own `inventory` schema. */
import { messagingTables } from "@orderflow/messaging";
import { sql } from "drizzle-orm";
import { bigint, check, integer, pgSchema, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const inventorySchema = pgSchema("inventory");

/** Stock per SKU. `available` can be reserved; `reserved` is held for pending orders. Never negative. */
export const stock = inventorySchema.table(
  "stock",
  {
    sku: text("sku").primaryKey(),
    name: text("name").notNull(),
    unitPriceCents: bigint("unit_price_cents", { mode: "number" }).notNull(),
    available: integer("available").notNull(),
    reserved: integer("reserved").notNull().default(0),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("stock_available_not_negative", sql`${t.available} >= 0`),
    check("stock_reserved_not_negative", sql`${t.reserved} >= 0`),
  ],
);

export const RESERVATION_STATUSES = ["reserved", "released", "committed"] as const;

/** One row per order line held: reserved, then released (cancelled) or committed (confirmed). */
export const reservations = inventorySchema.table(
  "reservations",
  {
    orderId: uuid("order_id").notNull(),
    sku: text("sku")
      .notNull()
      .references(() => stock.sku),
    quantity: integer("quantity").notNull(),
    status: text("status", { enum: RESERVATION_STATUSES }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.sku] }), check("reservations_quantity_positive", sql`${t.quantity} > 0`)],
);

/** The outbox, inbox and failure counts (created by the messaging package's migrations). */
export const messaging = messagingTables(inventorySchema);
