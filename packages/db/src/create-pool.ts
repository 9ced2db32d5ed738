import pg from "pg";

export interface PoolOptions {
  url: string;
  /** Shown in pg_stat_activity: which service holds a connection. */
  applicationName: string;
  max?: number;
}

export function createPool({ url, applicationName, max = 10 }: PoolOptions): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, application_name: applicationName, max });
  // An idle client that loses its connection (a Postgres restart) emits 'error' on
  // the pool; without a listener that would crash the process. The pool drops the
  // client and the next query reconnects.
  pool.on("error", () => {});
  return pool;
}
