/** A fresh database with the order service's migrations applied, for component tests. */

import { fileURLToPath } from "node:url";
import { createPool, migrateSchema } from "@orderflow/db";
import { createTestDatabase } from "@orderflow/testing";
import { drizzle } from "drizzle-orm/node-postgres";

export async function orderDatabase() {
  const database = await createTestDatabase();
  const pool = createPool({ url: database.url, applicationName: "order-test" });
  await migrateSchema(pool, {
    schema: "orders",
    migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
  });
  return {
    pool,
    db: drizzle(pool),
    count: async (table: string, where = "true") =>
      Number((await pool.query(`SELECT count(*) AS n FROM orders.${table} WHERE ${where}`)).rows[0].n),
    async close() {
      await pool.end();
      await database.drop();
    },
  };
}
