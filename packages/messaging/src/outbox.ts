/**
 * The transactional outbox, write side.
 *
 * A producing service never publishes to NATS inside its business transaction:
 * it inserts the event into its own `outbox` table in the SAME transaction as
 * the change the event announces. Either both commit or neither does, so an
 * event is never lost (committed change, no event) nor invented (event, rolled
 * back change). The outbox relay (outbox-relay.ts) publishes committed rows
 * afterwards, with `Nats-Msg-Id` = the row id so JetStream drops a re-publish.
 */

import { randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import type { EVENTS } from "@orderflow/contracts";
import { currentCorrelation } from "@orderflow/logging";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgSchema } from "drizzle-orm/pg-core";
import { customType, getTableConfig, index, integer, jsonb, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { activeTraceHeaders } from "./trace-propagation.js";

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

/** Headers stored with the row and sent with the message. */
export interface OutboxHeaders {
  eventType: string;
  correlationId?: string;
  causationId?: string;
  traceparent?: string;
  tracestate?: string;
}

/** The outbox table, created in the producing service's own schema. */
export function outboxTable(schema: PgSchema) {
  return schema.table(
    "outbox",
    {
      /** The message id: sent as Nats-Msg-Id, the consumers' dedup key. */
      id: uuid("id").primaryKey(),
      subject: text("subject").notNull(),
      payload: bytea("payload").notNull(),
      headers: jsonb("headers").$type<OutboxHeaders>().notNull(),
      createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
      publishedAt: timestamp("published_at", { withTimezone: true }),
      attempts: integer("attempts").notNull().default(0),
      lastError: text("last_error"),
    },
    (t) => [index("outbox_unpublished_idx").on(t.createdAt).where(sql`published_at IS NULL`)],
  );
}

export type OutboxTable = ReturnType<typeof outboxTable>;
// biome-ignore lint/suspicious/noExplicitAny: any drizzle database or transaction over node-postgres
type Tx = PgDatabase<PgQueryResultHKT, any, any>;

/** The LISTEN/NOTIFY channel on which a schema's relay is woken after a commit. */
export function outboxChannel(schema: string): string {
  return `outbox_${schema}`;
}

type EventDef = (typeof EVENTS)[keyof typeof EVENTS];

/**
 * Adds an event to the outbox inside `tx`. The correlation and causation ids
 * come from the current context. Returns the message id.
 */
export async function addToOutbox<E extends EventDef>(
  tx: Tx,
  table: OutboxTable,
  event: E,
  payload: MessageInitShape<E["schema"]>,
  extraHeaders: Partial<OutboxHeaders> = {},
): Promise<string> {
  const id = randomUUID();
  const context = currentCorrelation();
  const schema = event.schema as DescMessage;
  const headers: OutboxHeaders = {
    eventType: schema.typeName,
    // The transaction's trace context: the relay's publish span continues this trace.
    ...activeTraceHeaders(),
    ...(context?.correlationId ? { correlationId: context.correlationId } : {}),
    ...(context?.causationId ? { causationId: context.causationId } : {}),
    ...extraHeaders,
  };
  await tx.insert(table).values({
    id,
    subject: event.subject,
    payload: Buffer.from(toBinary(schema, create(schema, payload as MessageInitShape<DescMessage>))),
    headers,
  });
  // Delivered to LISTENers only when the transaction commits.
  await tx.execute(sql`SELECT pg_notify(${outboxChannel(getTableConfig(table).schema ?? "public")}, '')`);
  return id;
}
