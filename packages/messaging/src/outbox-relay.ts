/**
 * The transactional outbox, relay side: moves committed outbox rows to JetStream.
 *
 * - Wakes when a transaction that wrote a row commits (LISTEN/NOTIFY), and
 *   polls as well: a notification sent while the listener was disconnected is
 *   lost, a row never is.
 * - Claims a batch with FOR UPDATE SKIP LOCKED, so several replicas relay at
 *   once without publishing the same row concurrently.
 * - Publishes the batch pipelined, each with Nats-Msg-Id = the row id, and
 *   marks as published exactly the rows JetStream acknowledged, in the claiming
 *   transaction. A crash between publish and commit re-publishes the row later,
 *   and JetStream drops it as a duplicate (within the stream's duplicate
 *   window); a consumer's inbox catches anything older.
 * - Rides out broker and database outages with a capped backoff; prunes
 *   published rows after a retention period.
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import { backoffDelayMs } from "@orderflow/backoff";
import type { Logger } from "@orderflow/logging";
import type pg from "pg";
import { outboxMessageHeaders } from "./message-headers.js";
import { type OutboxHeaders, outboxChannel } from "./outbox.js";
import { withPublishSpan } from "./trace-propagation.js";

export interface OutboxRelayOptions {
  pool: pg.Pool;
  js: JetStreamClient;
  /** The schema that holds the `outbox` table. */
  schema: string;
  logger: Logger;
  /** Rows claimed per transaction. */
  batchSize?: number;
  /** The polling fallback. */
  pollIntervalMs?: number;
  /** Published rows older than this are deleted. */
  retentionMs?: number;
  publishTimeoutMs?: number;
  onPublished?: (count: number) => void;
}

export interface OutboxRelay {
  /** Relays until the outbox is empty once; for tests and shutdown. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

interface Row {
  id: string;
  subject: string;
  payload: Buffer;
  headers: OutboxHeaders;
}

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, js, schema, logger } = options;
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const retentionMs = options.retentionMs ?? 24 * 60 * 60 * 1000;
  const table = `"${schema}".outbox`;
  const log = logger.child({ component: "outbox-relay", schema });

  let stopped = false;
  let listener: pg.PoolClient | undefined;
  let lastPrune = 0;

  // A wake-up that arrives while a batch is being relayed is kept, not lost.
  let woken = false;
  let endSleep: (() => void) | undefined;
  const wakeUp = () => {
    woken = true;
    endSleep?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        return resolve();
      }
      const done = () => {
        clearTimeout(timer);
        endSleep = undefined;
        woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      endSleep = done;
    });

  async function relayBatch(): Promise<number> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<Row>(
        `SELECT id, subject, payload, headers FROM ${table}
          WHERE published_at IS NULL ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      if (rows.length === 0) {
        await client.query("COMMIT");
        return 0;
      }
      const results = await Promise.allSettled(
        rows.map((row) =>
          withPublishSpan(row.headers, { subject: row.subject, id: row.id }, (trace) =>
            js.publish(row.subject, row.payload, {
              msgID: row.id,
              headers: outboxMessageHeaders({ ...row.headers, ...trace }),
              timeout: options.publishTimeoutMs ?? 5000,
            }),
          ),
        ),
      );
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

  async function prune() {
    if (Date.now() - lastPrune < 60_000) return;
    lastPrune = Date.now();
    const { rowCount } = await pool.query(
      `DELETE FROM ${table} WHERE published_at < now() - make_interval(secs => $1::double precision)`,
      [retentionMs / 1000],
    );
    if (rowCount) log.debug({ pruned: rowCount }, "pruned published outbox rows");
  }

  // The LISTEN connection is never returned to the pool: it would carry our
  // LISTEN and handlers to whoever borrows it next. It is destroyed instead.
  let dropListener: (() => void) | undefined;

  async function listen() {
    while (!stopped && !listener) {
      try {
        const client = await pool.connect();
        let dropped = false;
        const drop = (err?: Error) => {
          if (dropped) return;
          dropped = true;
          client.removeListener("notification", wakeUp);
          client.removeListener("error", onError);
          client.on("error", () => {}); // late socket errors of a destroyed client are expected
          if (listener === client) listener = undefined;
          client.release(err ?? true);
        };
        const onError = (err: Error) => {
          log.warn({ err: err.message }, "outbox listener lost its connection; polling until it is back");
          drop(err);
          if (!stopped) setTimeout(() => void listen(), 1000);
        };
        client.on("notification", wakeUp);
        client.on("error", onError);
        try {
          await client.query(`LISTEN "${outboxChannel(schema)}"`);
        } catch (err) {
          drop(err as Error);
          throw err;
        }
        listener = client;
        dropListener = () => drop();
      } catch (err) {
        log.warn({ err: (err as Error).message }, "cannot LISTEN for outbox commits; retrying");
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  let draining: Promise<void> = Promise.resolve();
  async function loop() {
    let failures = 0;
    while (!stopped) {
      try {
        const relayed = await relayBatch();
        if (failures) log.info({ afterFailures: failures }, "outbox relay recovered");
        failures = 0;
        if (relayed === batchSize) continue;
        await prune();
      } catch (err) {
        failures++;
        log.warn({ err: (err as Error).message, failures }, "outbox relay failed; backing off");
      }
      await sleep(failures ? backoffDelayMs(failures + 1, { baseMs: 100, maxMs: 5000 }) : pollIntervalMs);
    }
  }

  void listen();
  draining = loop();

  return {
    async flush() {
      while ((await relayBatch()) > 0) {}
    },
    async stop() {
      stopped = true;
      wakeUp();
      await draining;
      dropListener?.();
    },
  };
}
