/**
 * The transactional outbox, relay side: when to move committed outbox rows to
 * JetStream. (How one batch is claimed and published: outbox-publish.ts.)
 *
 * - Wakes when a transaction that wrote a row commits: a call after COMMIT when
 *   the transaction ran in this process (outbox.ts), a NOTIFY (LISTEN) when it
 *   ran elsewhere; and polls as well: a notification sent while the listener
 *   was disconnected is lost, a row never is. A wake-up that arrives during a
 *   batch is kept.
 * - Relays batch after batch while they come back full, then sleeps.
 * - Rides out broker and database outages with a capped backoff; prunes
 *   published rows after a retention period.
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import { backoffDelayMs } from "@orderflow/backoff";
import type { Logger } from "@orderflow/logging";
import type pg from "pg";
import { outboxChannel, registerLocalRelay } from "./outbox.js";
import { pruneOutbox, publishOutboxBatch } from "./outbox-publish.js";

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

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, js, schema, logger } = options;
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const retentionMs = options.retentionMs ?? 24 * 60 * 60 * 1000;
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

  const relayBatch = () =>
    publishOutboxBatch({
      pool,
      js,
      schema,
      batchSize,
      publishTimeoutMs: options.publishTimeoutMs,
      onPublished: options.onPublished,
    });

  async function prune() {
    if (Date.now() - lastPrune < 60_000) return;
    lastPrune = Date.now();
    const pruned = await pruneOutbox(pool, schema, retentionMs);
    if (pruned) log.debug({ pruned }, "pruned published outbox rows");
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

  // Woken in-process by this process's own commits (outbox.ts), by NOTIFY for the others'.
  const unregister = registerLocalRelay(schema, wakeUp);
  void listen();
  draining = loop();

  return {
    async flush() {
      while ((await relayBatch()) > 0) {}
    },
    async stop() {
      stopped = true;
      unregister();
      wakeUp();
      await draining;
      dropListener?.();
    },
  };
}
