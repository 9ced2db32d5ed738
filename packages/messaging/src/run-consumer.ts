/**
 * The pull loop of one durable consumer: consumer-owned completion. ONE
 * long-lived pull (`consume()`) per consumer keeps up to `concurrency` batches
 * of `batchSize` requested from JetStream and re-pulls as messages arrive (and
 * after missed heartbeats or a reconnect), so no pull request, inbox
 * subscription or heartbeat timer is made per batch. It hands what it holds to
 * its batch delivery (batch-delivery.ts: inbox + handlers in one transaction,
 * then acks; a batch of one, or one that failed, takes the single-message path
 * of delivery.ts: ack, nak or dead-letter), and pauses its intake while the
 * database is away (the pull is closed, and opened again when it answers).
 * Handlers are written like API routes, but for messages.
 *
 * A batch is whatever is buffered when a worker is free, up to `batchSize`: an
 * idle stream gives batches of one at once, a busy one fills them. Messages
 * that wait in the buffer get in-progress acks like those being handled. What
 * a consumer holds unacked is bounded by its MaxAckPending on the server.
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { DescMessage } from "@bufbuild/protobuf";
import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import { backoffDelayMs } from "@orderflow/backoff";
import { sql } from "drizzle-orm";
import { type BatchDeliveryOptions, batchDeliveryOf } from "./batch-delivery.js";
import { deliveryOf } from "./delivery.js";
import { streamOf } from "./provision.js";

export interface RunConsumerOptions<S extends DescMessage> extends BatchDeliveryOptions<S> {
  /** Batches processed at once, each in its own transaction (default 1). */
  concurrency?: number;
  /** Messages one transaction takes at most (default 1: one message per transaction). */
  batchSize?: number;
}

/** How long each pull request of the long-lived pull lasts before it is renewed (heartbeats every half of it). */
const PULL_EXPIRES_MS = 10_000;

export interface RunningConsumer {
  /** Stops taking messages and waits for those in progress. */
  stop(): Promise<void>;
}

export async function runConsumer<S extends DescMessage>(options: RunConsumerOptions<S>): Promise<RunningConsumer> {
  const { js, db, spec } = options;
  const log = options.logger.child({ consumer: spec.durable });
  const concurrency = options.concurrency ?? 1;
  const batchSize = Math.min(options.batchSize ?? 1, options.batch?.maxSize ?? Number.POSITIVE_INFINITY);
  const withPause = {
    ...options,
    onDatabaseAway: (reason: string) => {
      pauseUntilTheDatabaseAnswers(reason);
      options.onDatabaseAway?.(reason);
    },
  };
  const deliverBatch = batchDeliveryOf(withPause, deliveryOf(withPause));
  const consumer = await js.consumers.get(streamOf(spec.subject), spec.durable);
  const inFlight = new Set<Promise<unknown>>();
  let stopped = false;
  let pull: ConsumerMessages | undefined;
  let outage: Promise<void> | undefined;

  /**
   * A delivery found the database unreachable: stop pulling until it answers
   * (the messages in flight meet the same), so no delivery is burnt on an outage.
   */
  function pauseUntilTheDatabaseAnswers(reason: string) {
    if (outage) return;
    log.warn({ err: reason }, "database unreachable: not counted as a failure; pausing intake until it answers");
    // Close the pull: what it delivers from now on is buffered (kept alive, handed out after the
    // outage), and nothing more is requested until the database answers.
    pull?.stop();
    outage = (async () => {
      for (let attempt = 1; !stopped; attempt++) {
        await sleep(backoffDelayMs(attempt, { baseMs: 250, maxMs: 5000 }));
        try {
          await db.execute(sql`SELECT 1`);
          log.info({ attempts: attempt }, "database answers again: resuming intake");
          return;
        } catch {}
      }
    })().finally(() => {
      outage = undefined;
      // What arrived during the outage waits in the buffer: take it now, not when the next
      // message happens to arrive (it may be the last one for a long time).
      startWorkers();
    });
  }

  // Pulled and not yet taken by a worker.
  const buffered: JsMsg[] = [];
  let handOutScheduled = false;
  // Requested from JetStream at most: what every worker can take at once.
  const capacity = concurrency * batchSize;
  const keepAlive = options.disableInProgressAcks
    ? undefined
    : setInterval(
        () => {
          for (const msg of buffered) msg.working();
        },
        Math.max(100, Math.floor(spec.ackWaitMs / 3)),
      );

  /**
   * Takes what is buffered, up to batchSize, while a worker is free. Smart
   * batching: an idle consumer starts at once, but while one batch is in
   * flight another starts only when a full batch waits; what arrives in the
   * meantime goes as one batch when a worker frees up. So batches grow with
   * the load, and each costs one transaction, whatever its size.
   */
  function startWorkers() {
    while (
      inFlight.size < concurrency &&
      buffered.length > 0 &&
      !outage &&
      (inFlight.size === 0 || buffered.length >= batchSize)
    ) {
      const batch = buffered.splice(0, batchSize);
      const work = deliverBatch(batch)
        .catch((err) => log.error({ err }, "message processing crashed"))
        .finally(() => {
          inFlight.delete(work);
          startWorkers();
        });
      inFlight.add(work);
    }
  }

  /**
   * One long-lived pull. It ends when the consumer stops, when an outage
   * closes it (intake paused; the loop waits for the database, then opens a
   * new one), or on an error (the loop opens a new one after a pause).
   */
  const loop = (async () => {
    while (!stopped) {
      if (outage) {
        await outage;
        startWorkers();
        continue;
      }
      try {
        pull = await consumer.consume({ max_messages: capacity, expires: PULL_EXPIRES_MS });
        if (outage) pull.stop(); // an outage began while the pull was opening
        void logStatus(pull);
        for await (const msg of pull) {
          if (stopped) {
            msg.nak(); // stopping: hand it back at once for another instance
            continue;
          }
          buffered.push(msg);
          // What one read of the socket delivered is handed out together, not one by one.
          if (!handOutScheduled) {
            handOutScheduled = true;
            setImmediate(() => {
              handOutScheduled = false;
              startWorkers();
            });
          }
        }
        // Ended by itself (not stopped, no outage: nats.js gave the pull up): not a tight loop.
        if (!stopped && !outage) {
          log.warn("the pull ended; pulling again");
          await sleep(500);
        }
      } catch (err) {
        if (stopped) break;
        log.warn({ err: (err as Error).message }, "pulling messages failed; pulling again");
        await sleep(500);
      } finally {
        pull = undefined;
      }
    }
  })();

  /** What the pull reports (missed heartbeats, a consumer deleted, ...), at debug level: it recovers by itself. */
  async function logStatus(messages: ConsumerMessages) {
    try {
      for await (const status of messages.status()) {
        if (status.type === "next") continue;
        log.debug({ status: status.type }, "pull status");
      }
    } catch {}
  }

  log.info({ subject: spec.subject, concurrency, batchSize }, "consumer started");
  return {
    async stop() {
      stopped = true;
      await pull?.close();
      await loop.catch(() => {});
      // Not taken by a worker: hand them back at once for another instance.
      for (const msg of buffered.splice(0)) msg.nak();
      await Promise.allSettled(inFlight);
      clearInterval(keepAlive);
    },
  };
}
