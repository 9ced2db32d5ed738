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

const commitHooks = new WeakMap<Tx, (() => void)[]>();
const flushes = new WeakMap<Tx, Map<unknown, () => Promise<void>>>();

/**
 * Runs `fn` once `tx` has committed (never when it rolls back); for cheap
 * signals (waking a relay), errors ignored. Returns false,
 * and does nothing, when `tx` is not a transaction of `transaction()` (a
 * drizzle `db.transaction()`, or no transaction at all): the caller then needs
 * another way.
 */
export function afterCommit(tx: Tx, fn: () => void): boolean {
  const hooks = commitHooks.get(tx);
  if (!hooks) return false;
  hooks.push(fn);
  return true;
}

/**
 * Runs `flush` inside `tx` after the work and before COMMIT: writes collected
 * during the work (several handlers' outbox rows, a batch's changed rows) go
 * to Postgres in one statement each, not one per call. One flush per `key`
 * (registering a key again keeps the first); flushes run in the order they
 * were registered, and one that fails rolls the transaction back like any
 * other failure. Returns false, and does nothing, when `tx` is not a
 * transaction of `transaction()`: the caller then writes at once.
 */
export function beforeCommit(tx: Tx, key: unknown, flush: () => Promise<void>): boolean {
  const registered = flushes.get(tx);
  if (!registered) return false;
  if (!registered.has(key)) registered.set(key, flush);
  return true;
}

export async function transaction<T>(db: NodePgDatabase, work: (tx: Tx) => Promise<T>): Promise<T> {
  const pool = (db as unknown as { $client: pg.Pool }).$client;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    try {
      const tx = drizzle(client);
      const hooks: (() => void)[] = [];
      commitHooks.set(tx, hooks);
      const pending = new Map<unknown, () => Promise<void>>();
      flushes.set(tx, pending);
      const result = await work(tx);
      // A flush may register another (a batch's rows, then the outbox rows they produced).
      for (const [key, flush] of pending) {
        pending.delete(key);
        await flush();
      }
      flushes.delete(tx);
      await client.query("COMMIT");
      // Committed: whatever a hook does, the transaction's outcome is success.
      for (const hook of hooks) {
        try {
          hook();
        } catch {}
      }
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
