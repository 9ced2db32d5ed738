import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import type pg from "pg";

/**
 * Applies a set of drizzle migrations to one service's schema. The journal
 * table lives in that schema too, so services never share migration state. The
 * migrations run with the schema as search_path, so a set written without a
 * schema name (the messaging tables) lands in it. An advisory lock makes
 * replicas that start together apply them once.
 */
export async function migrateSchema(
  pool: pg.Pool,
  options: { schema: string; migrationsFolder: string; journalTable?: string },
) {
  const client = await pool.connect();
  const lock = `migrate:${options.schema}`;
  try {
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [lock]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
      await client.query(`SET search_path TO "${options.schema}"`);
      await migrate(drizzle(client), {
        migrationsFolder: options.migrationsFolder,
        migrationsSchema: options.schema,
        migrationsTable: options.journalTable ?? "__migrations",
      });
    } finally {
      await client.query("RESET search_path").catch(() => {});
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [lock]);
    }
  } finally {
    client.release();
  }
}
