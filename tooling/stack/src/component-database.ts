/**
 * A fresh database for one service's component tests: created on the test
 * Postgres (createTestDatabase), prepared by `migrate` (the service's
 * migrations: `(pool) => migrateServiceSchema(pool, SERVICE)`), dropped on close().
 */
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { createTestDatabase } from "./create-test-database.js";

export async function componentDatabase(service: string, migrate: (pool: pg.Pool) => Promise<void>) {
  const database = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, application_name: `${service}-test` });
  await migrate(pool);
  const rows = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows;
  return {
    pool,
    db: drizzle(pool),
    rows,
    /** `SELECT count(*) FROM <table> WHERE <where>`. */
    count: async (table: string, where = "true", params: unknown[] = []) =>
      Number((await rows(`SELECT count(*) AS n FROM ${table} WHERE ${where}`, params))[0].n),
    async close() {
      await pool.end();
      await database.drop();
    },
  };
}

export type ComponentDatabase = Awaited<ReturnType<typeof componentDatabase>>;
