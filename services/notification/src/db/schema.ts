/** The notification service's tables, in its own `notifications` schema. */
import { messagingTables, type OutboxHeaders } from "@orderflow/messaging";
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgSchema, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";

export const notificationsSchema = pgSchema("notifications");

/**
 * One notification per order and kind: the unique key keeps a redelivery from
 * claiming it twice. A row is claimed in the transaction of the message that
 * asks for it and sent after that commits (send-notification.ts): `sent_at`
 * is null until the provider took it.
 */
export const notifications = notificationsSchema.table(
  "notifications",
  {
    id: uuid("id").primaryKey(),
    orderId: uuid("order_id").notNull(),
    kind: text("kind", { enum: ["order_confirmed", "order_cancelled"] }).notNull(),
    channel: text("channel").notNull(),
    recipient: text("recipient").notNull(),
    body: text("body").notNull(),
    /** When the provider took it; null while it is claimed and not yet sent. */
    sentAt: timestamp("sent_at", { withTimezone: true }),
    claimedAt: timestamp("claimed_at", { withTimezone: true }).notNull().defaultNow(),
    /** When the sweep may send it: a while after the claim (the dispatch after COMMIT goes first), later after a failure. */
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true })
      .notNull()
      .default(sql`now() + interval '10 seconds'`),
    /** Failed sends so far, and the last one's error. */
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    /** The headers of the message that asked for it (correlation, trace): its NotificationSent event carries them. */
    eventHeaders: jsonb("event_headers").$type<Partial<OutboxHeaders>>(),
  },
  (t) => [
    unique("notifications_one_per_order_and_kind").on(t.orderId, t.kind),
    index("notifications_unsent_idx").on(t.nextAttemptAt).where(sql`sent_at IS NULL`),
  ],
);

/** The outbox, inbox and failure counts (created by the messaging package's migrations). */
export const messaging = messagingTables(notificationsSchema);
