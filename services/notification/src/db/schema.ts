/** The notification service's tables, in its own `notifications` schema. */
import { messagingTables } from "@orderflow/messaging";
import { pgSchema, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";

export const notificationsSchema = pgSchema("notifications");

/** One notification per order and kind: the unique key keeps a redelivery from sending twice. */
export const notifications = notificationsSchema.table(
  "notifications",
  {
    id: uuid("id").primaryKey(),
    orderId: uuid("order_id").notNull(),
    kind: text("kind", { enum: ["order_confirmed", "order_cancelled"] }).notNull(),
    channel: text("channel").notNull(),
    recipient: text("recipient").notNull(),
    body: text("body").notNull(),
    sentAt: timestamp("sent_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique("notifications_one_per_order_and_kind").on(t.orderId, t.kind)],
);

/** The outbox, inbox and failure counts (created by the messaging package's migrations). */
export const messaging = messagingTables(notificationsSchema);
