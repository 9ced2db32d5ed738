/**
 * The messaging tables every service keeps in its own schema (the outbox, the
 * inbox, the consumers' failure counts), defined once here and created by this
 * package's own migrations (`packages/messaging/drizzle/`), which
 * migrateServiceSchema applies to a service's schema before the service's own.
 */
import { fileURLToPath } from "node:url";
import { migrateSchema } from "@orderflow/db";
import { type PgSchema, pgSchema } from "drizzle-orm/pg-core";
import type pg from "pg";
import { consumerFailuresTable } from "./consumer-failures.js";
import { inboxTable } from "./inbox.js";
import { outboxTable } from "./outbox.js";

/**
 * A service's messaging tables. Returned as one object, not as tables exported
 * one by one from the service's db/schema.ts, so that drizzle-kit does not
 * write them into the service's own migrations.
 */
export function messagingTables(schema: PgSchema | string) {
  const s = typeof schema === "string" ? pgSchema(schema) : schema;
  return { outbox: outboxTable(s), inbox: inboxTable(s), failures: consumerFailuresTable(s) };
}

export type MessagingTables = ReturnType<typeof messagingTables>;

const MESSAGING_MIGRATIONS = fileURLToPath(new URL("../drizzle", import.meta.url));

/** Creates or updates the messaging tables in `schema` (their journal is `__messaging_migrations`). */
export function migrateMessagingTables(pool: pg.Pool, schema: string) {
  return migrateSchema(pool, {
    schema,
    migrationsFolder: MESSAGING_MIGRATIONS,
    journalTable: "__messaging_migrations",
  });
}

/** Creates or updates a service's schema: the messaging tables first, then the service's own migrations. */
export async function migrateServiceSchema(pool: pg.Pool, options: { schema: string; migrations: URL }) {
  await migrateMessagingTables(pool, options.schema);
  await migrateSchema(pool, { schema: options.schema, migrationsFolder: fileURLToPath(options.migrations) });
}
