/**
 * Publishing the outbox to JetStream, two ways.
 *
 * From memory (publishWrittenRows): the rows a transaction of this process
 * just committed, handed over after COMMIT (outbox.ts); published, then
 * marked in one statement. The fast path: no query to find them.
 *
 * Claim and publish (publishOutboxBatch): one batch of what is still
 * unpublished in the table: rows written by another process, and stragglers
 * (a process that died between COMMIT and its publish, a failed publish).
 *
 * - Claims up to batchSize unpublished rows, oldest first, with FOR UPDATE
 *   SKIP LOCKED, so several replicas relay at once without publishing the same
 *   row concurrently.
 * - Publishes them pipelined, each with Nats-Msg-Id = the row id, and marks as
 *   published exactly the rows JetStream acknowledged, in the claiming
 *   transaction (the others get their attempt and error recorded). A crash
 *   between publish and commit re-publishes the row later, and JetStream drops
 *   it as a duplicate (within the stream's duplicate window); a consumer's
 *   inbox catches anything older.
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import type pg from "pg";
import { outboxMessageHeaders } from "./message-headers.js";
import type { WrittenRow } from "./outbox.js";
import { withPublishSpan } from "./trace-propagation.js";

export interface PublishBatchOptions {
  pool: pg.Pool;
  js: JetStreamClient;
  /** The schema that holds the `outbox` table. */
  schema: string;
  batchSize: number;
  publishTimeoutMs?: number;
  onPublished?: (count: number) => void;
  /** Rows this process is publishing from memory right now: not claimed again. */
  exclude?: () => string[];
}

type Row = WrittenRow;

/** Publishes rows pipelined, each in its publish span with Nats-Msg-Id = the row id; the outcome of each. */
function publishRows(js: JetStreamClient, rows: Row[], timeout: number, onAck?: (id: string) => void) {
  return Promise.allSettled(
    rows.map((row) =>
      withPublishSpan(row.headers, { subject: row.subject, id: row.id }, async (trace) => {
        const ack = await js.publish(row.subject, row.payload, {
          msgID: row.id,
          headers: outboxMessageHeaders({ ...row.headers, ...trace }),
          timeout,
        });
        onAck?.(row.id);
        return ack;
      }),
    ),
  );
}

/**
 * Publishes rows that their transactions just committed, straight from memory
 * (no claim: the rows are known). Returns the ids JetStream acknowledged, with
 * the time of each ack, to be marked (markPublished) by the caller, which
 * gathers several rounds into one statement. A row whose publish failed is left unmarked: the poll claims
 * it (publishOutboxBatch) and records its error. A crash before the mark
 * re-publishes the rows later, and JetStream drops them as duplicates.
 */
export async function publishFromMemory(
  js: JetStreamClient,
  rows: Row[],
  publishTimeoutMs = 5000,
): Promise<{ published: Published[]; failed: number; firstError?: string }> {
  // When each publish was acknowledged: recorded as the row's published_at, however late it is marked.
  const ackedAt = new Map<string, Date>();
  const results = await publishRows(js, rows, publishTimeoutMs, (id) => ackedAt.set(id, new Date()));
  const published = rows
    .filter((_, i) => results[i]?.status === "fulfilled")
    .map((r) => ({ id: r.id, at: ackedAt.get(r.id) ?? new Date() }));
  const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  return {
    published,
    failed: rows.length - published.length,
    firstError: rejected ? String(rejected.reason?.message ?? rejected.reason) : undefined,
  };
}

/** A row JetStream acknowledged, and when. */
export interface Published {
  id: string;
  at: Date;
}

/** Marks rows as published at the time each was acknowledged, in ONE statement. */
export async function markPublished(pool: pg.Pool, schema: string, rows: Published[]): Promise<void> {
  await pool.query(
    `UPDATE "${schema}".outbox o SET published_at = m.at, attempts = o.attempts + 1
       FROM unnest($1::uuid[], $2::timestamptz[]) AS m(id, at)
      WHERE o.id = m.id AND o.published_at IS NULL`,
    [rows.map((r) => r.id), rows.map((r) => r.at)],
  );
}

/**
 * Returns how many rows it claimed (0: the outbox is empty). Throws, after
 * committing what was published, when any publish failed.
 */
export async function publishOutboxBatch(options: PublishBatchOptions): Promise<number> {
  const { pool, js, batchSize } = options;
  const table = `"${options.schema}".outbox`;
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const { rows } = await client.query<Row>(
      `SELECT id, subject, payload, headers FROM ${table}
        WHERE published_at IS NULL AND id <> ALL($2::uuid[])
        ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [batchSize, options.exclude?.() ?? []],
    );
    if (rows.length === 0) {
      await client.query("COMMIT");
      return 0;
    }
    const results = await publishRows(js, rows, options.publishTimeoutMs ?? 5000);
    const published = rows.filter((_, i) => results[i]?.status === "fulfilled").map((r) => r.id);
    const failed = rows.flatMap((r, i) => {
      const res = results[i];
      return res?.status === "rejected" ? [{ id: r.id, error: String(res.reason?.message ?? res.reason) }] : [];
    });
    if (published.length) {
      await client.query(
        `UPDATE ${table} SET published_at = clock_timestamp(), attempts = attempts + 1 WHERE id = ANY($1::uuid[])`,
        [published],
      );
    }
    if (failed.length) {
      await client.query(
        `UPDATE ${table} SET attempts = attempts + 1, last_error = f.error
           FROM unnest($1::uuid[], $2::text[]) AS f(id, error) WHERE ${table}.id = f.id`,
        [failed.map((f) => f.id), failed.map((f) => f.error)],
      );
    }
    await client.query("COMMIT");
    if (published.length) options.onPublished?.(published.length);
    if (failed.length) throw new Error(`${failed.length} of ${rows.length} publishes failed: ${failed[0]?.error}`);
    return rows.length;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
