/**
 * Several statements in ONE round trip: the extended query protocol lets a
 * client send Parse/Bind/Describe/Execute for each statement and a single Sync
 * after the last; Postgres runs them in order and answers them all at once
 * (the protocol's pipelining, which libpq exposes as pipeline mode and
 * node-postgres does not). A transaction uses it to send BEGIN with its first
 * statement and COMMIT with its last (transaction.ts): two round trips fewer
 * per transaction, on a machine where a round trip, not the statement, is the
 * cost.
 *
 * If a statement fails, Postgres skips the rest up to the Sync: the ones
 * before it answered, it gets the error, and those after it an error saying
 * they did not run. Each statement is a node-postgres `Query` (its own
 * parsing, row mode and type parsers); only the Sync between them is left out.
 * (pg 8.23's own `pipeline: true` client option sends each query with its own
 * Sync: Postgres then answers and flushes each one apart, and a statement
 * after a failed one still runs, so a COMMIT or a write after a failed BEGIN
 * would run outside the transaction.)
 */
import pg from "pg";

export interface Statement {
  text: string;
  values?: unknown[];
  rowMode?: "array";
  // biome-ignore lint/suspicious/noExplicitAny: pg's custom type parsers (drizzle passes its own).
  types?: any;
}

/** A node-postgres Query with the internals the pipeline uses (pg 8: prepare() sends Parse/Bind/Describe, then _getRows() Execute and Sync). */
interface PgQuery {
  // biome-ignore lint/suspicious/noExplicitAny: pg's connection is untyped.
  prepare(connection: any): void;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  _getRows(connection: any, rows?: number): void;
  portal?: string;
  // biome-ignore lint/suspicious/noExplicitAny: pg's messages and connection are untyped.
  [handler: string]: any;
}

class Pipeline {
  private current = 0;
  constructor(private readonly queries: PgQuery[]) {}

  // biome-ignore lint/suspicious/noExplicitAny: pg's connection is untyped.
  submit(connection: any): null {
    connection.stream.cork?.();
    try {
      this.queries.forEach((query, i) => {
        // Every statement but the last: Execute, no Sync.
        if (i < this.queries.length - 1) query._getRows = (con) => con.execute({ portal: query.portal });
        query.prepare(connection);
      });
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }
  // biome-ignore lint/suspicious/noExplicitAny: pg's messages are untyped.
  handleRowDescription(msg: any) {
    this.queries[this.current]?.handleRowDescription(msg);
  }
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  handleDataRow(msg: any) {
    this.queries[this.current]?.handleDataRow(msg);
  }
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  handleCommandComplete(msg: any, connection: any) {
    this.queries[this.current]?.handleCommandComplete(msg, connection);
    this.current++;
  }
  handleEmptyQuery() {
    this.current++;
  }
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  handleError(err: Error, connection: any) {
    this.queries.forEach((query, i) => {
      if (i < this.current) query.handleReadyForQuery(connection);
      else if (i === this.current) query.handleError(err, connection);
      else
        query.handleError(new Error(`not run: statement ${this.current + 1} of the pipeline failed first`), connection);
    });
  }
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  handleReadyForQuery(connection: any) {
    for (const query of this.queries) query.handleReadyForQuery(connection);
  }
  handlePortalSuspended() {}
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  handleCopyInResponse(connection: any) {
    connection.sendCopyFail("COPY is not supported in a pipeline");
  }
  handleCopyData() {}
}

/** Sends the statements in one round trip; resolves with each one's result, or rejects with the first failure. */
export async function pipeline(client: pg.ClientBase, statements: Statement[]): Promise<pg.QueryResult[]> {
  const results = await pipelineSettled(client, statements);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<pg.QueryResult>).value);
}

/** Sends the statements in one round trip; each one's outcome (those after a failed one: "not run"). */
export function pipelineSettled(
  client: pg.ClientBase,
  statements: Statement[],
): Promise<PromiseSettledResult<pg.QueryResult>[]> {
  const settled = statements.map(() => {
    let settle: (err: Error | null, result?: pg.QueryResult) => void = () => {};
    const promise = new Promise<pg.QueryResult>((resolve, reject) => {
      settle = (err, result) => (err ? reject(err) : resolve(result as pg.QueryResult));
    });
    return { promise, settle };
  });
  const queries = statements.map(
    (s, i) =>
      new pg.Query(
        { text: s.text, values: s.values, rowMode: s.rowMode, types: s.types } as pg.QueryConfig,
        undefined,
        (err: Error | undefined, res: pg.QueryResult) => settled[i]?.settle(err ?? null, res),
      ) as unknown as PgQuery,
  );
  // pg's query() takes any object with submit() (a "Submittable") and hands it every message.
  client.query(new Pipeline(queries) as unknown as pg.QueryConfig);
  return Promise.allSettled(settled.map((s) => s.promise));
}
