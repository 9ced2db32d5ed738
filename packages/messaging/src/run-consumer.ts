/**
 * The pull loop of one durable consumer: consumer-owned completion. It pulls
 * only as many messages as it has room for (`concurrency` batches of
 * `batchSize`), hands what it holds to its batch delivery (batch-delivery.ts:
 * inbox + handlers in one transaction, then acks; a batch of one, or one that
 * failed, takes the single-message path of delivery.ts: ack, nak or
 * dead-letter), and pauses its intake while the database is away. Handlers are
 * written like API routes, but for messages.
 *
 * A batch is whatever is buffered when a worker is free, up to `batchSize`: an
 * idle stream gives batches of one at once, a busy one fills them. Messages
 * that wait in the buffer get in-progress acks like those being handled.
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
      changed();
    });
  }

  // The pull loop waits, when it has no room, for a worker to finish or an outage to end.
  let wake: (() => void) | undefined;
  const changed = () => {
    wake?.();
    wake = undefined;
  };
  const nextChange = () => new Promise<void>((resolve) => (wake = resolve));

  // Pulled and not yet taken by a worker. Pull only as many messages as there
  // is room for: a message pulled beyond it would wait, and the other replicas
  // of this service could have handled it.
  const buffered: JsMsg[] = [];
  const capacity = concurrency * batchSize;
  let held = 0; // buffered + being handled
  const keepAlive = options.disableInProgressAcks
    ? undefined
    : setInterval(
        () => {
          for (const msg of buffered) msg.working();
        },
        Math.max(100, Math.floor(spec.ackWaitMs / 3)),
      );

  /** Takes what is buffered, up to batchSize, while a worker is free. */
  function startWorkers() {
    while (inFlight.size < concurrency && buffered.length > 0 && !outage) {
      const batch = buffered.splice(0, batchSize);
      const work = deliverBatch(batch)
        .catch((err) => log.error({ err }, "message processing crashed"))
        .finally(() => {
          held -= batch.length;
          inFlight.delete(work);
          startWorkers();
          changed();
        });
      inFlight.add(work);
    }
  }

  const loop = (async () => {
    while (!stopped) {
      if (outage) {
        await outage;
        startWorkers();
        continue;
      }
      const room = capacity - held;
      if (room <= 0) {
        // Not Promise.race(inFlight): with every held message buffered during an outage and
        // no worker running, that race would never settle.
        await nextChange();
        continue;
      }
      try {
        pull = await consumer.fetch({ max_messages: room, expires: 2000 });
        for await (const msg of pull) {
          if (stopped) {
            msg.nak(); // stopping: hand it back at once for another instance
            continue;
          }
          held += 1;
          buffered.push(msg);
          startWorkers();
        }
      } catch (err) {
        if (stopped) break;
        log.warn({ err: (err as Error).message }, "fetching messages failed; retrying");
        await sleep(500);
      } finally {
        pull = undefined;
      }
    }
  })();

  log.info({ subject: spec.subject, concurrency, batchSize }, "consumer started");
  return {
    async stop() {
      stopped = true;
      changed();
      await pull?.close();
      await loop.catch(() => {});
      // Not taken by a worker: hand them back at once for another instance.
      for (const msg of buffered.splice(0)) msg.nak();
      await Promise.allSettled(inFlight);
      clearInterval(keepAlive);
    },
  };
}
