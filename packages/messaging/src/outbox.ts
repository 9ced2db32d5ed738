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

import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import type { EVENTS } from "@orderflow/contracts";
import { afterCommit, beforeCommit, newId, type Tx } from "@orderflow/db";
import { currentCorrelation } from "@orderflow/logging";
import { sql } from "drizzle-orm";
import type { PgSchema } from "drizzle-orm/pg-core";
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
      /** When the row was written (clock_timestamp(), not the transaction's start). */
      createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
      publishedAt: timestamp("published_at", { withTimezone: true }),
      attempts: integer("attempts").notNull().default(0),
      lastError: text("last_error"),
    },
    (t) => [index("outbox_unpublished_idx").on(t.createdAt).where(sql`published_at IS NULL`)],
  );
}

export type OutboxTable = ReturnType<typeof outboxTable>;

/** The LISTEN/NOTIFY channel on which a schema's relays are woken after a commit made elsewhere. */
export function outboxChannel(schema: string): string {
  return `outbox_${schema}`;
}

/** An outbox row as its transaction wrote it: what a relay publishes from memory after COMMIT. */
export interface WrittenRow {
  id: string;
  subject: string;
  payload: Buffer;
  headers: OutboxHeaders;
}

/** The relays running in this process, by schema (outbox-relay.ts registers each). */
const localRelays = new Map<string, Set<(row: WrittenRow) => void>>();

/** Registers a relay for `schema`, which takes the rows committed in this process; returns its unregistration. */
export function registerLocalRelay(schema: string, take: (row: WrittenRow) => void): () => void {
  const relays = localRelays.get(schema) ?? new Set();
  localRelays.set(schema, relays.add(take));
  return () => relays.delete(take);
}

/**
 * Hands the row to a relay once the transaction that wrote it commits. In a
 * process with its own relay for the schema, and in a transaction of
 * `transaction()`, that is a function call after COMMIT with the row itself:
 * the relay publishes it from memory, no query to find it and no NOTIFY
 * (which would serialize every commit of the cluster: docs/adr/0008, 0009).
 * Otherwise a NOTIFY, delivered to the LISTENing relays at commit, which
 * claim the row from the table. A row handed over and lost with its process
 * (a crash between COMMIT and publish) is still in the table: a relay's poll
 * publishes it.
 */
async function handToRelayAfterCommit(tx: Tx, schema: string, rows: WrittenRow[]): Promise<void> {
  // One relay publishes them (several in one process would each publish them).
  const relay = localRelay(schema);
  if (
    relay &&
    afterCommit(tx, () => {
      for (const row of rows) relay(row);
    })
  )
    return;
  await tx.execute(sql`SELECT pg_notify(${outboxChannel(schema)}, '')`);
}

type EventDef = (typeof EVENTS)[keyof typeof EVENTS];

/**
 * The headers the current context gives an event: correlation and causation
 * ids, and the active trace (the relay's publish span continues this trace).
 * What outboxRow uses; kept by a use case that writes its event later.
 */
export function contextHeaders(): Omit<OutboxHeaders, "eventType"> {
  const context = currentCorrelation();
  return {
    ...activeTraceHeaders(),
    ...(context?.correlationId ? { correlationId: context.correlationId } : {}),
    ...(context?.causationId ? { causationId: context.causationId } : {}),
  };
}

/**
 * The outbox row of an event: a new message id, the encoded payload, and the
 * headers of the current context (correlation and causation ids, the active
 * trace). What addToOutbox inserts; a use case that writes in one statement
 * (place-order.ts) inserts it itself.
 */
export function outboxRow<E extends EventDef>(
  event: E,
  payload: MessageInitShape<E["schema"]>,
  extraHeaders: Partial<OutboxHeaders> = {},
): WrittenRow {
  const schema = event.schema as DescMessage;
  const headers: OutboxHeaders = { eventType: schema.typeName, ...contextHeaders(), ...extraHeaders };
  return {
    id: newId(),
    subject: event.subject,
    payload: Buffer.from(toBinary(schema, create(schema, payload as MessageInitShape<DescMessage>))),
    headers,
  };
}

/**
 * The relay of this process for `schema`, for rows committed by a single
 * statement outside `transaction()`: call it with the row once the statement
 * has returned (committed). Undefined when no relay runs here: the statement
 * must then NOTIFY `outboxChannel(schema)` itself.
 */
export function localRelay(schema: string): ((row: WrittenRow) => void) | undefined {
  const [relay] = localRelays.get(schema) ?? [];
  return relay;
}

/** Rows added in a transaction and not yet inserted, by transaction and table. */
const unwritten = new WeakMap<Tx, Map<OutboxTable, WrittenRow[]>>();

/**
 * Adds an event to the outbox inside `tx`. The correlation and causation ids
 * come from the current context. Returns the message id.
 *
 * In a transaction of `transaction()` the row is inserted just before COMMIT,
 * with every other row the transaction added to the same table, in ONE
 * statement (a batch of 32 messages that each produce an event writes its
 * outbox in one round trip, not 32). Either way the rows commit with the
 * change they announce, or not at all.
 */
export async function addToOutbox<E extends EventDef>(
  tx: Tx,
  table: OutboxTable,
  event: E,
  payload: MessageInitShape<E["schema"]>,
  extraHeaders: Partial<OutboxHeaders> = {},
): Promise<string> {
  const row = outboxRow(event, payload, extraHeaders);
  const byTable = unwritten.get(tx) ?? new Map<OutboxTable, WrittenRow[]>();
  const rows = byTable.get(table);
  if (rows) {
    rows.push(row);
    return row.id;
  }
  const flush = async () => {
    const written = byTable.get(table) ?? [];
    byTable.delete(table);
    if (!written.length) return [];
    await handToRelayAfterCommit(tx, getTableConfig(table).schema ?? "public", written);
    return [tx.insert(table).values(written).getSQL()];
  };
  if (beforeCommit(tx, table, flush)) {
    byTable.set(table, [row]);
    unwritten.set(tx, byTable);
    return row.id;
  }
  await writeRows(tx, table, [row]);
  return row.id;
}

/** Inserts rows in one statement and hands them to a relay once the transaction commits. */
async function writeRows(tx: Tx, table: OutboxTable, rows: WrittenRow[]): Promise<void> {
  if (!rows.length) return;
  await tx.insert(table).values(rows);
  await handToRelayAfterCommit(tx, getTableConfig(table).schema ?? "public", rows);
}
