import pg from "pg";

export interface PoolOptions {
  url: string;
  /** Shown in pg_stat_activity: which service holds a connection. */
  applicationName: string;
  max?: number;
  /** How long a checkout may wait for a connection (default 10 s). */
  connectionTimeoutMs?: number;
  /** Told of every connection lost outside a query (a Postgres restart); the pool recovers by itself. */
  onConnectionError?: (err: Error) => void;
  /**
   * Told of every statement sent (BEGIN and COMMIT included): one round trip
   * each, since pg sends a statement only after the previous one answered.
   */
  onStatement?: () => void;
}

/**
 * A pool whose clients can never crash the process. A client that loses its
 * connection emits 'error': on the pool while it is idle, on the client itself
 * while it is checked out (a transaction, the relay, a LISTEN connection).
 * With no listener, Node turns that event into an uncaught exception. So every
 * client gets a listener from birth; the query in flight still fails with the
 * error, and the pool replaces the broken client on its next checkout.
 */
export function createPool({
  url,
  applicationName,
  max = 10,
  onConnectionError,
  onStatement,
  connectionTimeoutMs = 10_000,
}: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    ...(onStatement ? { Client: countingClient(onStatement) } : {}),
    connectionString: url,
    application_name: applicationName,
    max,
    // A checkout waits at most this long (connecting, or queued behind busy
    // clients): an overloaded or unreachable database is then an error the
    // caller can act on (UNAVAILABLE, a paused consumer), not an endless queue.
    connectionTimeoutMillis: connectionTimeoutMs,
  });
  const report = (err: Error) => onConnectionError?.(err);
  pool.on("error", report);
  pool.on("connect", (client) => client.on("error", report));
  return pool;
}

/** A pg client class that reports every statement it sends. */
function countingClient(onStatement: () => void): typeof pg.Client {
  return class CountingClient extends pg.Client {
    // biome-ignore lint/suspicious/noExplicitAny: pg's query has a dozen overloads; this passes them through.
    override query(...args: any[]): any {
      onStatement();
      // biome-ignore lint/suspicious/noExplicitAny: as above.
      return (super.query as any)(...args);
    }
  } as typeof pg.Client;
}
