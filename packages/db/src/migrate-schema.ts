import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import type pg from "pg";

/**
 * Applies a service's drizzle migrations to its own schema. The journal table
 * lives in that schema too, so services never share migration state. An
 * advisory lock makes replicas that start together apply them once.
 */
export async function migrateSchema(pool: pg.Pool, options: { schema: string; migrationsFolder: string }) {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [`migrate:${options.schema}`]);
    try {
      await migrate(drizzle(client), {
        migrationsFolder: options.migrationsFolder,
        migrationsSchema: options.schema,
        migrationsTable: "__migrations",
      });
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [`migrate:${options.schema}`]);
    }
  } finally {
    client.release();
  }
}
