/**
 * The inbox: the consumer's record of the events it has processed.
 *
 * JetStream delivers at least once: after a crash, a lost ack or a redrive, a
 * handler sees an event again. The inbox row (event id + consumer) is inserted
 * in the SAME transaction as the handler's effects, against a primary key:
 * - first delivery: the insert succeeds, the effects commit with it;
 * - a redelivery after a commit: the insert conflicts, nothing happens, ack;
 * - a redelivery after a crash before the commit: neither the row nor the
 *   effects exist, so the event is processed as if for the first time.
 * Written in a transaction of its own (the lost-order incident), the row can
 * commit while the effects do not, and the redelivery is wrongly dropped.
 */

import type { Tx } from "@orderflow/db";
import type { PgSchema } from "drizzle-orm/pg-core";
import { primaryKey, text, timestamp } from "drizzle-orm/pg-core";

export function inboxTable(schema: PgSchema) {
  return schema.table(
    "inbox",
    {
      eventId: text("event_id").notNull(),
      consumer: text("consumer").notNull(),
      subject: text("subject").notNull(),
      processedAt: timestamp("processed_at", { withTimezone: true }).notNull().defaultNow(),
    },
    (t) => [primaryKey({ columns: [t.eventId, t.consumer] })],
  );
}

export type InboxTable = ReturnType<typeof inboxTable>;

/** Records the event for the consumer; false when it was already recorded (a duplicate). */
export async function recordInInbox(
  tx: Tx,
  table: InboxTable,
  entry: { eventId: string; consumer: string; subject: string },
): Promise<boolean> {
  const inserted = await tx.insert(table).values(entry).onConflictDoNothing().returning({ eventId: table.eventId });
  return inserted.length === 1;
}

/**
 * Records a batch's events for the consumer in ONE statement; returns the ids
 * that were new (the others were recorded before: duplicates).
 */
export async function recordBatchInInbox(
  tx: Tx,
  table: InboxTable,
  consumer: string,
  entries: { eventId: string; subject: string }[],
): Promise<Set<string>> {
  const unique = [...new Map(entries.map((e) => [e.eventId, { ...e, consumer }])).values()];
  const inserted = await tx.insert(table).values(unique).onConflictDoNothing().returning({ eventId: table.eventId });
  return new Set(inserted.map((r) => r.eventId));
}
