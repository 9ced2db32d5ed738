/**
 * Retention: every table that only grows is pruned, in small batches, of rows
 * older than its window (docs/adr/0014-retention.md says, per table, why its
 * window is safe):
 * - the inbox (processed messages, replay records included): a message can be
 *   delivered again for as long as its stream keeps it (a consumer recreated or
 *   reset re-reads the stream), so the window must be longer than the stream's
 *   max age: `checkRetentionWindows` (packages/config) refuses a configuration
 *   that breaks it;
 * - the consumers' failure counts: a message is redelivered for a bounded time
 *   (max_deliver attempts, each within AckWait plus its backoff);
 * - the outbox's published rows (JetStream holds the events once published);
 * - and a service's own tables (the order service's idempotency keys).
 * Each batch is one short DELETE of at most `batchSize` rows picked by an
 * index on the row's time, so no long lock is taken and a big backlog is
 * worked off a batch at a time. Deleted rows free their space only once the
 * table is vacuumed: retention vacuums a table itself (plain VACUUM: no lock
 * that blocks reads or writes) once it has deleted more than a fifth of its
 * rows (and at least 1000) since the last time, as autovacuum's defaults
 * would, so that the space is reused even where autovacuum is off or behind
 * (it is off on this project's CI machine).
 */
import type { Logger } from "@orderflow/logging";
import type pg from "pg";
import { Counter, type Registry } from "prom-client";

export interface RetainedTable {
  /** "<schema>.<table>", as the metric labels it. */
  table: string;
  /** The column that says how old a row is. */
  timeColumn: string;
  /** Rows older than this are deleted. */
  windowMs: number;
  /** Only rows matching this SQL condition are candidates (e.g. published outbox rows). */
  where?: string;
}

export interface RetentionOptions {
  pool: pg.Pool;
  logger: Logger;
  tables: RetainedTable[];
  intervalMs: number;
  batchSize: number;
  registry?: Registry;
}

export interface Retention {
  /** Prunes every table once, to the end of its backlog; returns the rows deleted per table. */
  runOnce(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** The messaging tables of `schema` under their windows. */
export function messagingRetention(
  schema: string,
  windows: { inboxMs: number; consumerFailuresMs: number; outboxMs: number },
): RetainedTable[] {
  return [
    { table: `${schema}.inbox`, timeColumn: "processed_at", windowMs: windows.inboxMs },
    { table: `${schema}.consumer_failures`, timeColumn: "updated_at", windowMs: windows.consumerFailuresMs },
    {
      table: `${schema}.outbox`,
      timeColumn: "published_at",
      windowMs: windows.outboxMs,
      where: "published_at IS NOT NULL",
    },
  ];
}

const quoted = (table: string) =>
  table
    .split(".")
    .map((p) => `"${p}"`)
    .join(".");

/** Deletes up to `batchSize` rows of `t` older than its window; returns how many. */
export async function pruneBatch(pool: pg.Pool, t: RetainedTable, batchSize: number): Promise<number> {
  const name = quoted(t.table);
  const { rowCount } = await pool.query(
    `DELETE FROM ${name} WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM ${name}
       WHERE ${t.where ? `${t.where} AND ` : ""}"${t.timeColumn}" < now() - make_interval(secs => $1::double precision)
       LIMIT $2))`,
    [t.windowMs / 1000, batchSize],
  );
  return rowCount ?? 0;
}

export function startRetention(options: RetentionOptions): Retention {
  const { pool, tables, batchSize } = options;
  const log = options.logger.child({ component: "retention" });
  const pruned = new Counter({
    name: "retention_pruned_rows_total",
    help: "Rows deleted by retention (older than their table's window), by table",
    labelNames: ["table"],
    registers: options.registry ? [options.registry] : [],
  });
  for (const t of tables) pruned.inc({ table: t.table }, 0);

  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const sinceVacuum = new Map<string, number>();
  const vacuumIfDue = async (t: RetainedTable) => {
    const deleted = sinceVacuum.get(t.table) ?? 0;
    if (deleted < 1000) return;
    const { rows } = await pool.query<{ n: number }>(
      "SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = $1::regclass",
      [quoted(t.table)],
    );
    if (deleted < 0.2 * Number(rows[0]?.n ?? 0)) return;
    await pool.query(`VACUUM ${quoted(t.table)}`);
    sinceVacuum.set(t.table, 0);
    log.debug({ table: t.table, deleted }, "vacuumed after pruning");
  };
  const runOnce = async () => {
    const counts: Record<string, number> = {};
    for (const t of tables) {
      let total = 0;
      for (;;) {
        if (stopped) break;
        const n = await pruneBatch(pool, t, batchSize);
        total += n;
        if (n < batchSize) break;
      }
      counts[t.table] = total;
      if (total) {
        pruned.inc({ table: t.table }, total);
        sinceVacuum.set(t.table, (sinceVacuum.get(t.table) ?? 0) + total);
        log.info(
          { table: t.table, pruned: total, windowS: Math.round(t.windowMs / 1000) },
          "pruned rows past retention",
        );
      }
      if (!stopped) await vacuumIfDue(t);
    }
    return counts;
  };
  const timer = setInterval(() => {
    running = running
      .then(runOnce)
      // An outage is not retention's to report: the next round tries again.
      .catch((err: Error) => log.warn({ err: err.message }, "retention round failed; the next one retries"));
  }, options.intervalMs);
  timer.unref();
  return {
    runOnce: () => {
      const round = running.then(runOnce);
      running = round.catch(() => {});
      return round;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running.catch(() => {});
    },
  };
}
