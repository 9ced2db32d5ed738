/**
 * How many times a consumer's handler has failed on an event WITH THE
 * INFRASTRUCTURE HEALTHY: the count that decides dead-lettering.
 *
 * JetStream's delivery count cannot decide it: it also counts deliveries that
 * failed because Postgres was restarting, and deliveries lost with a killed
 * process. A few seconds of database outage would then dead-letter good
 * messages. So the runner counts only the failures that are the message's own
 * (the handler threw while the database answered), here, in the consumer's
 * schema: it survives restarts and is shared by replicas. Written in a small
 * transaction of its own after the handler's transaction rolled back; removed
 * in the transaction that finally handles the event.
 */

import type { Tx } from "@orderflow/db";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { PgSchema } from "drizzle-orm/pg-core";
import { integer, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

export function consumerFailuresTable(schema: PgSchema) {
  return schema.table(
    "consumer_failures",
    {
      eventId: text("event_id").notNull(),
      consumer: text("consumer").notNull(),
      failures: integer("failures").notNull(),
      lastError: text("last_error").notNull(),
      updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    },
    (t) => [primaryKey({ columns: [t.eventId, t.consumer] })],
  );
}

export type ConsumerFailuresTable = ReturnType<typeof consumerFailuresTable>;

/** Counts one more failure of the event; returns the count so far. */
export async function recordFailure(
  db: Tx,
  table: ConsumerFailuresTable,
  entry: { eventId: string; consumer: string; error: string },
): Promise<number> {
  const [row] = await db
    .insert(table)
    .values({ eventId: entry.eventId, consumer: entry.consumer, failures: 1, lastError: entry.error.slice(0, 500) })
    .onConflictDoUpdate({
      target: [table.eventId, table.consumer],
      set: { failures: sql`${table.failures} + 1`, lastError: entry.error.slice(0, 500), updatedAt: sql`now()` },
    })
    .returning({ failures: table.failures });
  return row?.failures ?? 1;
}

/** Forgets the event's failures (it was handled, or dead-lettered). */
export async function clearFailures(db: Tx, table: ConsumerFailuresTable, eventId: string, consumer: string) {
  await db.delete(table).where(and(eq(table.eventId, eventId), eq(table.consumer, consumer)));
}

/** Forgets the failures of several events of one consumer (a batch that handled them), in one statement. */
export async function clearFailuresOf(db: Tx, table: ConsumerFailuresTable, consumer: string, eventIds: string[]) {
  await db.delete(table).where(and(eq(table.consumer, consumer), inArray(table.eventId, eventIds)));
}
