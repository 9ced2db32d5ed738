/** The payment service's tables, in its own `payments` schema. */
import { messagingTables } from "@orderflow/messaging";
import { sql } from "drizzle-orm";
import { bigint, check, pgSchema, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";

export const paymentsSchema = pgSchema("payments");

/**
 * One row per charge attempt's outcome. The unique order_id is the guarantee
 * of at most one charge per order, whatever the number of deliveries.
 */
export const charges = paymentsSchema.table(
  "charges",
  {
    id: uuid("id").primaryKey(),
    orderId: uuid("order_id").notNull(),
    amountCents: bigint("amount_cents", { mode: "number" }).notNull(),
    status: text("status", { enum: ["succeeded", "declined"] }).notNull(),
    providerReference: text("provider_reference"),
    declineReason: text("decline_reason"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("charges_one_per_order").on(t.orderId),
    check("charges_amount_not_negative", sql`${t.amountCents} >= 0`),
  ],
);

/** The outbox, inbox and failure counts (created by the messaging package's migrations). */
export const messaging = messagingTables(paymentsSchema);
