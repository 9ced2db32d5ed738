/**
 * A batch's decision: what happens to SEVERAL messages one consumer pulled
 * together. One transaction for all of them, one commit, then an ack each; so a
 * saga costs a few commits, not one per message.
 *
 * Inside the transaction:
 * - the inbox records of the whole batch in ONE statement (inbox.ts,
 *   `recordBatchInInbox`): the events it returns are new, the others are
 *   duplicates (acked with no effect); a second copy inside the batch is a
 *   duplicate too;
 * - the batch's locks, taken first and in a fixed order (`lockBatch`), and the
 *   handlers run in the order of `orderKey` (e.g. the order id), so two
 *   batches that touch the same rows take them in the same order and never
 *   deadlock; the lock goes to Postgres with BEGIN and the inbox insert, in
 *   one round trip (`inOneRoundTrip`), so it covers every event of the batch,
 *   duplicates included (a row a duplicate would not change is locked for
 *   nothing, which is harmless);
 * - each handler in its own process span (a child of its message's producer,
 *   so one order's trace still runs through every service) and its own
 *   correlation context, writing its outbox rows through the same transaction;
 * - the failure counts of redelivered messages cleared in one statement.
 *
 * After COMMIT every message is acked. A crash between the COMMIT and the acks
 * redelivers them, and the inbox turns each into an ack with no effect.
 *
 * When the batch fails, nothing of it committed. The database being away is
 * nobody's fault: every message is naked with a delay, not counted, and the
 * pull loop pauses. Any other failure is some message's: the batch is retried
 * ONE MESSAGE AT A TIME on the single-message path (delivery.ts), so failures
 * are counted and dead letters decided per message (ADR 0006), and a good
 * message is never dead-lettered because a bad one shared its batch.
 */

import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import type { JsMsg } from "@nats-io/jetstream";
import { inOneRoundTrip, isConnectionError, type Tx, transaction } from "@orderflow/db";
import { mintCorrelationId, withCorrelation } from "@orderflow/logging";
import { clearFailuresOf } from "./consumer-failures.js";
import type { DeliveryOptions, HandlerContext, Outcome } from "./delivery.js";
import { recordBatchInInbox } from "./inbox.js";
import { readEventMeta } from "./message-headers.js";
import { withProcessSpan } from "./trace-propagation.js";

/** How a subscription's handler runs several events in one transaction without deadlocks. */
export interface BatchPolicy<S extends DescMessage> {
  /**
   * Messages one transaction takes at most for this subscription (default: the
   * consumer's batch size). 1 where a handler calls an outside party that has
   * no idempotency key: a batch that fails is retried one message at a time,
   * and the good messages' outside calls would be made again.
   */
  maxSize?: number;
  /** The key the handlers run in the order of (stable): e.g. the order id, when each handler locks its order's row. */
  orderKey?: (event: MessageShape<S>) => string;
  /**
   * Locks every row the batch's handlers will write, in a fixed order, before the first handler runs. It is
   * given every event of the batch (duplicates too: it is sent with the inbox insert, before they are known)
   * and must send at most one statement (the round trip it shares with BEGIN and the inbox insert).
   */
  lockBatch?: (tx: Tx, events: MessageShape<S>[]) => Promise<void>;
}

export interface BatchDeliveryOptions<S extends DescMessage> extends DeliveryOptions<S> {
  batch?: BatchPolicy<S>;
  /** Told the size of every batch taken (a histogram per consumer). */
  onBatch?: (info: { consumer: string; size: number }) => void;
}

type Meta<S extends DescMessage> = HandlerContext<S>["meta"];
interface Item<S extends DescMessage> {
  msg: JsMsg;
  meta: Meta<S>;
  event: MessageShape<S>;
}

/**
 * Returns the function that takes a batch of messages to their outcomes. `single`
 * is the single-message delivery (deliveryOf): the path of a batch of one, of
 * what cannot be decoded, and of a batch that failed.
 */
export function batchDeliveryOf<S extends DescMessage>(
  options: BatchDeliveryOptions<S>,
  single: (msg: JsMsg) => Promise<Outcome>,
): (msgs: JsMsg[]) => Promise<void> {
  const { db, inbox, failures, spec, schema, handler } = options;
  const consumer = spec.durable;
  const log = options.logger.child({ consumer });
  const outageRetryDelayMs = options.outageRetryDelayMs ?? 1000;

  async function oneByOne(msgs: JsMsg[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const msg of msgs) outcomes.push(await single(msg));
    return outcomes;
  }

  /** One info line per batch (the per-message lines are debug): how many it took and handled. */
  function done(size: number, outcomes: Outcome[]) {
    log.info({ size, handled: outcomes.filter((o) => o === "handled").length }, "batch done");
  }

  /** Inbox, locks, every handler and the failure counts, in ONE transaction; the outcome of each item. */
  function handleAll(items: Item<S>[]): Promise<Outcome[]> {
    return transaction(db, async (tx) => {
      const lockBatch = options.batch?.lockBatch;
      const record = () =>
        recordBatchInInbox(
          tx,
          inbox,
          consumer,
          items.map((i) => ({ eventId: i.meta.eventId, subject: i.meta.subject })),
        );
      const [fresh] = lockBatch
        ? await inOneRoundTrip(tx, [
            record,
            () =>
              lockBatch(
                tx,
                items.map((i) => i.event),
              ),
          ] as const)
        : [await record()];
      const outcomes: Outcome[] = items.map(() => "duplicate");
      const todo: number[] = [];
      for (const [index, item] of items.entries()) {
        // A second copy inside the batch: the first one does the work.
        if (fresh.delete(item.meta.eventId)) todo.push(index);
      }
      const orderKey = options.batch?.orderKey;
      if (orderKey) {
        // Array.prototype.sort is stable: events of one key keep their order of arrival.
        const key = (i: number) => orderKey((items[i] as Item<S>).event);
        todo.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      }
      for (const index of todo) {
        const { msg, meta, event } = items[index] as Item<S>;
        const correlation = { correlationId: meta.correlationId || mintCorrelationId(), causationId: meta.eventId };
        const run = () => handler({ tx, event, meta, log });
        await withCorrelation(correlation, () =>
          options.disableTelemetry
            ? run()
            : withProcessSpan(
                meta,
                { subject: msg.subject, id: meta.eventId, consumer, deliveryCount: meta.deliveryCount },
                async (span) => {
                  span.setAttribute("orderflow.outcome", "handled");
                  span.setAttribute("messaging.batch.message_count", items.length);
                  await run();
                },
              ),
        );
        outcomes[index] = "handled";
      }
      // Redelivered ones may have failed before; their counts go with the success.
      const retried = todo.map((i) => items[i] as Item<S>).filter((i) => i.meta.deliveryCount > 1);
      if (retried.length) {
        await clearFailuresOf(
          tx,
          failures,
          consumer,
          retried.map((i) => i.meta.eventId),
        );
      }
      return outcomes;
    });
  }

  return async (msgs) => {
    if (msgs.length === 1 || options.inboxOutsideTransaction) {
      if (!options.disableTelemetry) options.onBatch?.({ consumer, size: msgs.length });
      return done(msgs.length, await oneByOne(msgs));
    }
    const started = performance.now();
    const items: Item<S>[] = [];
    const undecodable: JsMsg[] = [];
    for (const msg of msgs) {
      const meta = { ...readEventMeta(msg.headers), subject: msg.subject, deliveryCount: msg.info.deliveryCount };
      try {
        if (meta.eventId) items.push({ msg, meta, event: fromBinary(schema, msg.data) });
        else undecodable.push(msg);
      } catch {
        undecodable.push(msg);
      }
    }
    // The single path dead-letters them, each with its reason.
    const rejected = await oneByOne(undecodable);
    if (items.length === 0) return done(msgs.length, rejected);
    if (!options.disableTelemetry) options.onBatch?.({ consumer, size: items.length });

    const heartbeat = options.disableInProgressAcks
      ? undefined
      : setInterval(
          () => {
            for (const { msg } of items) msg.working();
          },
          Math.max(100, Math.floor(spec.ackWaitMs / 3)),
        );
    let outcomes: Outcome[];
    try {
      outcomes = await handleAll(items);
    } catch (err) {
      clearInterval(heartbeat);
      if (isConnectionError(err)) {
        const reason = `${(err as Error).name}: ${(err as Error).message}`;
        for (const { msg } of items) msg.nak(outageRetryDelayMs);
        options.onDatabaseAway?.(reason);
        report(items, "unavailable", started);
        return done(msgs.length, rejected);
      }
      log.warn(
        { err: (err as Error).message, size: items.length },
        "batch failed; retrying its messages one at a time",
      );
      return done(msgs.length, [...rejected, ...(await oneByOne(items.map((i) => i.msg)))]);
    } finally {
      clearInterval(heartbeat);
    }
    for (const { msg } of items) msg.ack();
    done(msgs.length, [...rejected, ...outcomes]);
    items.forEach((item, i) => {
      report([item], outcomes[i] as Outcome, started);
    });
  };

  function report(items: Item<S>[], outcome: Outcome, started: number) {
    if (options.disableTelemetry) return;
    const seconds = (performance.now() - started) / 1000;
    for (const { meta } of items) {
      options.observer?.onDelivery?.({ consumer, outcome, seconds, deliveryCount: meta.deliveryCount });
    }
  }
}
