/**
 * The pull loop of one durable consumer: consumer-owned completion. It pulls
 * only as many messages as it has free slots, hands each to its delivery
 * (delivery.ts: decode, inbox + handler in one transaction, then ack, nak or
 * dead-letter), and pauses its intake while the database is away. Handlers are
 * written like API routes, but for messages.
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { DescMessage } from "@bufbuild/protobuf";
import type { ConsumerMessages } from "@nats-io/jetstream";
import { backoffDelayMs } from "@orderflow/backoff";
import { sql } from "drizzle-orm";
import { type DeliveryOptions, deliveryOf } from "./delivery.js";
import { streamOf } from "./provision.js";

export interface RunConsumerOptions<S extends DescMessage> extends DeliveryOptions<S> {
  /** Messages processed at once (default 1: in order). */
  concurrency?: number;
}

export interface RunningConsumer {
  /** Stops taking messages and waits for those in progress. */
  stop(): Promise<void>;
}

export async function runConsumer<S extends DescMessage>(options: RunConsumerOptions<S>): Promise<RunningConsumer> {
  const { js, db, spec } = options;
  const log = options.logger.child({ consumer: spec.durable });
  const concurrency = options.concurrency ?? 1;
  const deliver = deliveryOf({
    ...options,
    onDatabaseAway: (reason) => {
      pauseUntilTheDatabaseAnswers(reason);
      options.onDatabaseAway?.(reason);
    },
  });
  const consumer = await js.consumers.get(streamOf(spec.subject), spec.durable);
  const inFlight = new Set<Promise<unknown>>();
  let stopped = false;
  let batch: ConsumerMessages | undefined;
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
    });
  }

  // Pull only as many messages as there are free slots. A message waiting in a
  // client-side buffer gets no in-progress acks and would be redelivered under
  // AckWait while its first copy is still queued.
  const loop = (async () => {
    while (!stopped) {
      if (outage) {
        await outage;
        continue;
      }
      const free = concurrency - inFlight.size;
      if (free <= 0) {
        await Promise.race(inFlight);
        continue;
      }
      try {
        batch = await consumer.fetch({ max_messages: free, expires: 2000 });
        for await (const msg of batch) {
          if (stopped) {
            msg.nak(); // stopping: hand it back at once for another instance
            continue;
          }
          const work = deliver(msg).catch((err) => log.error({ err }, "message processing crashed"));
          inFlight.add(work);
          void work.finally(() => inFlight.delete(work));
        }
      } catch (err) {
        if (stopped) break;
        log.warn({ err: (err as Error).message }, "fetching messages failed; retrying");
        await sleep(500);
      } finally {
        batch = undefined;
      }
    }
  })();

  log.info({ subject: spec.subject, concurrency }, "consumer started");
  return {
    async stop() {
      stopped = true;
      await batch?.close();
      await loop.catch(() => {});
      await Promise.allSettled(inFlight);
    },
  };
}
