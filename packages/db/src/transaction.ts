/**
 * One database transaction on a connection of the pool, released however it
 * ends. Why not drizzle's `db.transaction()`: it sends BEGIN before its
 * try/finally, so a BEGIN that fails (the connection died with a Postgres
 * restart) never releases the connection, and a connection that broke during
 * the transaction goes back to the pool as if healthy. A few restarts, and a
 * service's pool is exhausted for good. Here a failed connection is released
 * with its error, which makes the pool destroy it.
 */

import { type SQL, sql } from "drizzle-orm";
import { drizzle, type NodePgDatabase, type NodePgQueryResultHKT } from "drizzle-orm/node-postgres";
import { type PgDatabase, PgDialect } from "drizzle-orm/pg-core";
import type pg from "pg";
import { isConnectionError } from "./connection-errors.js";
import { pipeline, pipelineSettled, type Statement } from "./pipeline.js";

/** What a use case writes through: a transaction (or any drizzle database over node-postgres). */
// biome-ignore lint/suspicious/noExplicitAny: any schema
export type Tx = PgDatabase<NodePgQueryResultHKT, any, any>;

const commitHooks = new WeakMap<Tx, (() => void)[]>();
/** What a flush gives back: the statements to send, or nothing (it wrote itself, or had nothing to write). */
export type Flush = () => Promise<SQL[] | undefined> | SQL[] | undefined;
const flushes = new WeakMap<Tx, Map<unknown, Flush>>();

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
 * during the work (several handlers' outbox rows, a batch's changed rows)
 * reach Postgres together, not one per call. A flush returns its writes
 * (INSERT, UPDATE or DELETE statements), and the writes of every flush of the
 * transaction are sent as ONE statement (each a data-modifying CTE of it: they
 * see the same snapshot, so each must touch its own table). One flush per
 * `key` (registering a key again keeps the first); flushes are asked in the
 * order they were registered; a write that fails rolls the transaction back
 * like any other failure. Returns false, and does nothing, when `tx` is not a
 * transaction of `transaction()`: the caller then writes at once.
 */
export function beforeCommit(tx: Tx, key: unknown, flush: Flush): boolean {
  const registered = flushes.get(tx);
  if (!registered) return false;
  if (!registered.has(key)) registered.set(key, flush);
  return true;
}

const dialect = new PgDialect();

/** Data-modifying statements as the CTEs of one: one round trip. */
function asOneStatement(writes: SQL[]): SQL {
  if (writes.length === 1) return writes[0] as SQL;
  return sql`WITH ${sql.join(
    writes.map((write, i) => sql`${sql.raw(`write_${i}`)} AS (${write})`),
    sql`, `,
  )} SELECT 1`;
}

interface Held {
  statement: Statement;
  resolve: (result: pg.QueryResult) => void;
  reject: (err: unknown) => void;
}

/** How a transaction of `transaction()` sends its statements: BEGIN with the first, and `inOneRoundTrip`'s together. */
interface Sending {
  begun: boolean;
  /** While `inOneRoundTrip` gathers: the statements held, and how many it waits for. */
  gate?: { expected: number; held: Held[] };
  flushGate(): void;
}
const sendings = new WeakMap<Tx, Sending>();

/**
 * The client as the transaction's drizzle sees it: its first statement goes
 * with BEGIN in one round trip (pipeline.ts), and the statements of
 * `inOneRoundTrip` together.
 */
function sendingThrough(client: pg.PoolClient) {
  const sending: Sending = {
    begun: false,
    flushGate() {
      const gate = sending.gate;
      sending.gate = undefined;
      if (!gate?.held.length) return;
      const withBegin = !sending.begun;
      sending.begun = true;
      const statements = gate.held.map((h) => h.statement);
      void pipelineSettled(client, withBegin ? [{ text: "BEGIN" }, ...statements] : statements).then((results) => {
        const own = withBegin ? results.slice(1) : results;
        gate.held.forEach((h, i) => {
          const r = own[i] as PromiseSettledResult<pg.QueryResult>;
          if (r.status === "fulfilled") h.resolve(r.value);
          else h.reject(r.reason);
        });
      });
    },
  };
  // biome-ignore lint/suspicious/noExplicitAny: pg's query has a dozen overloads; drizzle calls (config, values).
  const query = (config: any, values?: any) => {
    if (typeof config !== "object" || typeof config.submit === "function") {
      sending.begun = true;
      return client.query(config, values);
    }
    const statement: Statement = { ...config, values: values ?? config.values };
    const gate = sending.gate;
    if (gate) {
      return new Promise<pg.QueryResult>((resolve, reject) => {
        gate.held.push({ statement, resolve, reject });
        if (gate.held.length >= gate.expected) sending.flushGate();
      });
    }
    if (sending.begun) return client.query(config, values);
    sending.begun = true;
    return pipeline(client, [{ text: "BEGIN" }, statement]).then(([, result]) => result);
  };
  const proxied = new Proxy(client, {
    get: (target, prop) => (prop === "query" ? query : Reflect.get(target, prop)),
  });
  return { proxied, sending };
}

/**
 * Runs `steps` at once, each sending at most one statement before it awaits
 * anything, and sends their statements to Postgres in ONE round trip (with
 * BEGIN, when they are the transaction's first): a batch's inbox insert and
 * its lock, for instance. A step that sends none, or sends its statement
 * later, is not waited for past the current turn of the event loop. Outside a
 * transaction of `transaction()` the steps simply run at once.
 */
export async function inOneRoundTrip<T extends readonly (() => Promise<unknown>)[]>(
  tx: Tx,
  steps: T,
): Promise<{ -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  const sending = sendings.get(tx);
  if (sending && !sending.gate) sending.gate = { expected: steps.length, held: [] };
  const fallback = sending ? setImmediate(() => sending.flushGate()) : undefined;
  try {
    return (await Promise.all(steps.map((step) => step()))) as { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> };
  } finally {
    clearImmediate(fallback);
  }
}

export async function transaction<T>(db: NodePgDatabase, work: (tx: Tx) => Promise<T>): Promise<T> {
  const pool = (db as unknown as { $client: pg.Pool }).$client;
  const client = await pool.connect();
  let broken: Error | undefined;
  const { proxied, sending: state } = sendingThrough(client);
  try {
    try {
      const tx = drizzle(proxied);
      sendings.set(tx, state);
      const hooks: (() => void)[] = [];
      commitHooks.set(tx, hooks);
      const pending = new Map<unknown, Flush>();
      flushes.set(tx, pending);
      const result = await work(tx);
      // A flush may register another (a batch's rows, then the outbox rows they produced).
      const writes: SQL[] = [];
      for (const [key, flush] of pending) {
        pending.delete(key);
        writes.push(...((await flush()) || []));
      }
      flushes.delete(tx);
      // The writes and COMMIT in one round trip (with BEGIN too, when nothing was sent before).
      const last: Statement[] = [];
      if (!state.begun && writes.length) last.push({ text: "BEGIN" });
      if (writes.length) {
        const { sql: text, params } = dialect.sqlToQuery(asOneStatement(writes));
        last.push({ text, values: params });
      }
      if (state.begun || writes.length) last.push({ text: "COMMIT" });
      state.begun ||= writes.length > 0;
      if (last.length) await pipeline(client, last);
      // Committed: whatever a hook does, the transaction's outcome is success.
      for (const hook of hooks) {
        try {
          hook();
        } catch {}
      }
      return result;
    } catch (err) {
      if (state.begun) {
        await client.query("ROLLBACK").catch((rollbackErr: Error) => {
          broken = rollbackErr;
        });
      }
      throw err;
    }
  } catch (err) {
    if (isConnectionError(err)) broken ??= err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}
