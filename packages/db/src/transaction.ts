/**
 * One database transaction on a connection of the pool, released however it
 * ends. Why not drizzle's `db.transaction()`: it sends BEGIN before its
 * try/finally, so a BEGIN that fails (the connection died with a Postgres
 * restart) never releases the connection, and a connection that broke during
 * the transaction goes back to the pool as if healthy. A few restarts, and a
 * service's pool is exhausted for good. Here a failed connection is released
 * with its error, which makes the pool destroy it.
 */
import { drizzle, type NodePgDatabase, type NodePgQueryResultHKT } from "drizzle-orm/node-postgres";
import type { PgDatabase } from "drizzle-orm/pg-core";
import type pg from "pg";
import { isConnectionError } from "./connection-errors.js";

/** What a use case writes through: a transaction (or any drizzle database over node-postgres). */
// biome-ignore lint/suspicious/noExplicitAny: any schema
export type Tx = PgDatabase<NodePgQueryResultHKT, any, any>;

export async function transaction<T>(db: NodePgDatabase, work: (tx: Tx) => Promise<T>): Promise<T> {
  const pool = (db as unknown as { $client: pg.Pool }).$client;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    try {
      const result = await work(drizzle(client));
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch((rollbackErr: Error) => {
        broken = rollbackErr;
      });
      throw err;
    }
  } catch (err) {
    if (isConnectionError(err)) broken ??= err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}
