/**
 * The transactional outbox, relay side: when to move committed outbox rows to
 * JetStream. (How: outbox-publish.ts.)
 *
 * - A transaction of this process hands its rows over after COMMIT
 *   (outbox.ts): they are published from memory, whatever arrived while the
 *   last publish ran going out together. No query finds them, and the marks
 *   of several rounds go in one statement, once nothing waits to be published
 *   (or MARK_EVERY rows are due). A mark lost with its process means a
 *   re-publish, which JetStream's duplicate window and the inbox absorb.
 * - The table is polled (claim and publish) every pollIntervalMs, and when a
 *   NOTIFY (LISTEN) says another process committed rows: that covers the other
 *   writers, a publish that failed, and a process that died between its COMMIT
 *   and its publish. A notification sent while the listener was disconnected
 *   is lost, a row never is. A wake-up that arrives during a batch is kept.
 * - Claims batch after batch while they come back full, then sleeps.
 * - Rides out broker and database outages with a capped backoff. (Published
 *   rows are pruned by retention.ts, under OUTBOX_RETENTION_HOURS.)
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import { backoffDelayMs } from "@orderflow/backoff";
import type { Logger } from "@orderflow/logging";
import type pg from "pg";
import { outboxChannel, registerLocalRelay, type WrittenRow } from "./outbox.js";
import { markPublished, type Published, publishFromMemory, publishOutboxBatch } from "./outbox-publish.js";

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
  publishTimeoutMs?: number;
  onPublished?: (count: number) => void;
}

export interface OutboxRelay {
  /** Relays until the outbox is empty once; for tests and shutdown. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Published rows marked in one statement at the latest when this many are due. */
const MARK_EVERY = 500;
/** How long acknowledged rows wait to be marked together (their published_at is the ack's time). */
const MARK_AFTER_MS = 250;

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, js, schema, logger } = options;
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const log = logger.child({ component: "outbox-relay", schema });

  let stopped = false;
  let listener: pg.PoolClient | undefined;

  // Rows committed in this process, waiting to be published from memory; those being published
  // or published and not yet marked (a poll must not claim them).
  const written: WrittenRow[] = [];
  const publishing = new Set<string>();
  let toMark: Published[] = [];
  let markTimer: NodeJS.Timeout | undefined;
  // The table is due a poll: at start, after each poll interval, on NOTIFY, after a failure.
  let pollDue = true;

  // A wake-up that arrives while a batch is being relayed is kept, not lost.
  let woken = false;
  let endSleep: (() => void) | undefined;
  const wakeUp = () => {
    woken = true;
    endSleep?.();
  };
  const wakeToPoll = () => {
    pollDue = true;
    wakeUp();
  };
  const take = (row: WrittenRow) => {
    written.push(row);
    wakeUp();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        return resolve();
      }
      const done = (timedOut: boolean) => {
        clearTimeout(timer);
        endSleep = undefined;
        woken = false;
        if (timedOut) pollDue = true;
        resolve();
      };
      const timer = setTimeout(() => done(true), ms);
      endSleep = () => done(false);
    });

  const relayBatch = () =>
    publishOutboxBatch({
      pool,
      js,
      schema,
      batchSize,
      publishTimeoutMs: options.publishTimeoutMs,
      onPublished: options.onPublished,
      exclude: () => [...publishing, ...written.map((r) => r.id)],
    });

  /**
   * Publishes what this process's transactions handed over. The acknowledged
   * rows are marked MARK_AFTER_MS after the first of them (or once MARK_EVERY
   * are due), in one statement with the time of each ack: under a steady
   * trickle that is a few marks a second, not one commit per event.
   */
  async function relayFromMemory() {
    const rows = written.splice(0, batchSize);
    for (const row of rows) publishing.add(row.id);
    const result = await publishFromMemory(js, rows, options.publishTimeoutMs);
    toMark.push(...result.published);
    const published = new Set(result.published.map((p) => p.id));
    for (const row of rows) if (!published.has(row.id)) publishing.delete(row.id);
    if (result.published.length) options.onPublished?.(result.published.length);
    if (toMark.length >= MARK_EVERY) await markAll();
    else if (toMark.length && !markTimer) {
      markTimer = setTimeout(() => {
        markTimer = undefined;
        markAll().catch((err) =>
          log.warn({ err: (err as Error).message }, "marking published rows failed; the poll publishes them again"),
        );
      }, MARK_AFTER_MS);
    }
    if (result.failed) {
      throw new Error(`${result.failed} of ${rows.length} publishes failed (left for the poll): ${result.firstError}`);
    }
  }

  async function markAll() {
    clearTimeout(markTimer);
    markTimer = undefined;
    if (!toMark.length) return;
    const rows = toMark;
    toMark = [];
    try {
      await markPublished(pool, schema, rows);
    } finally {
      // Marked, or not (then the poll publishes them again: JetStream drops the duplicates).
      for (const { id } of rows) publishing.delete(id);
    }
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
          client.removeListener("notification", wakeToPoll);
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
        client.on("notification", wakeToPoll);
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
        if (written.length) {
          await relayFromMemory();
          if (failures) log.info({ afterFailures: failures }, "outbox relay recovered");
          failures = 0;
          continue;
        }
        if (pollDue) {
          pollDue = false;
          const relayed = await relayBatch();
          if (failures) log.info({ afterFailures: failures }, "outbox relay recovered");
          failures = 0;
          if (relayed === batchSize) {
            pollDue = true;
            continue;
          }
        }
      } catch (err) {
        failures++;
        pollDue = true; // what failed is still in the table
        log.warn({ err: (err as Error).message, failures }, "outbox relay failed; backing off");
      }
      await sleep(failures ? backoffDelayMs(failures + 1, { baseMs: 100, maxMs: 5000 }) : pollIntervalMs);
    }
  }

  // Woken in-process by this process's own commits (outbox.ts), by NOTIFY for the others'.
  const unregister = registerLocalRelay(schema, take);
  void listen();
  draining = loop();

  return {
    async flush() {
      while (written.length) await relayFromMemory();
      await markAll();
      while ((await relayBatch()) > 0) {}
    },
    async stop() {
      stopped = true;
      unregister();
      wakeUp();
      await draining;
      // Published and not yet marked: mark them now, or the next relay publishes them again (harmless).
      await markAll().catch(() => {});
      dropListener?.();
    },
  };
}
