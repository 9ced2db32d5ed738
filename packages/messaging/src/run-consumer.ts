/**
 * The consumer runner: consumer-owned completion for one durable consumer.
 * Handlers are written like API routes, but for messages.
 *
 * For each message: decode; open ONE database transaction; record the event in
 * the inbox (inbox.ts) and run the handler in it; commit; only then ack. So:
 * - a crash before the commit leaves no trace, and the message is redelivered;
 * - a crash after the commit but before the ack redelivers a duplicate, which
 *   the inbox turns into an ack with no effect;
 * - a failing handler naks with a growing delay (backoff); its failures are
 *   counted (consumer-failures.ts), and at maxDeliver the message is poison;
 * - the database being away is not the message's fault: a connection-class
 *   error naks with a delay, is NOT counted, and the consumer stops pulling
 *   until the database answers again (no deliveries burnt on an outage);
 * - a poison message (undecodable, a PermanentError, or failing maxDeliver
 *   times) goes to the dead letters (dead-letters.ts) and is terminated, so
 *   the others keep flowing;
 * - a long handler sends in-progress acks, so JetStream does not redeliver it
 *   under AckWait while it is still working.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { SpanStatusCode } from "@opentelemetry/api";
import { backoffDelayMs, exponentialBackoff } from "@orderflow/backoff";
import { isConnectionError, type Tx, transaction } from "@orderflow/db";
import { type Logger, mintCorrelationId, withCorrelation } from "@orderflow/logging";
import { sql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { type ConsumerFailuresTable, clearFailures, recordFailure } from "./consumer-failures.js";
import { sendToDeadLetters } from "./dead-letters.js";
import { type InboxTable, recordInInbox } from "./inbox.js";
import { type EventMeta, readEventMeta } from "./message-headers.js";
import { type ConsumerSpec, streamOf } from "./provision.js";
import { withProcessSpan } from "./trace-propagation.js";

/** Thrown by a handler when retrying cannot help: the message goes to the dead letters at once. */
export class PermanentError extends Error {
  override name = "PermanentError";
}

export interface HandlerContext<S extends DescMessage> {
  /** The transaction the inbox record commits in: do every write through it. */
  tx: Tx;
  event: MessageShape<S>;
  meta: EventMeta & { subject: string; deliveryCount: number };
  log: Logger;
}

export type Handler<S extends DescMessage> = (ctx: HandlerContext<S>) => Promise<void>;

/** `unavailable`: the database was away; the message comes back and the attempt is not counted. */
export const OUTCOMES = ["handled", "duplicate", "retry", "unavailable", "dead-lettered"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface ConsumerObserver {
  /** Called once per delivery with its outcome and how long it took. */
  onDelivery?(info: { consumer: string; outcome: Outcome; seconds: number; deliveryCount: number }): void;
}

export interface RunConsumerOptions<S extends DescMessage> {
  js: JetStreamClient;
  db: NodePgDatabase;
  inbox: InboxTable;
  /** Where failures with the infrastructure healthy are counted (consumer-failures.ts). */
  failures: ConsumerFailuresTable;
  spec: ConsumerSpec;
  schema: S;
  handler: Handler<S>;
  logger: Logger;
  /** Messages processed at once (default 1: in order). */
  concurrency?: number;
  /** Delay before redelivery after a handler failure, by the number of failures so far (1-based). */
  retryDelayMs?: (failures: number) => number;
  /** Delay before redelivery when the database is unreachable (default 1 s). */
  outageRetryDelayMs?: number;
  observer?: ConsumerObserver;
  /**
   * UNSAFE (the lost-order incident): commit the inbox record in its own
   * transaction before the work instead of with it.
   */
  inboxOutsideTransaction?: boolean;
  /** UNSAFE (the dark-failure incident): no in-progress acks while a handler runs. */
  disableInProgressAcks?: boolean;
  /** UNSAFE (the dark-failure incident): no process spans and no observer calls. */
  disableTelemetry?: boolean;
}

export interface RunningConsumer {
  /** Stops taking messages and waits for those in progress. */
  stop(): Promise<void>;
}

export const defaultRetryDelayMs = exponentialBackoff({ baseMs: 250, maxMs: 30_000 });

export async function runConsumer<S extends DescMessage>(options: RunConsumerOptions<S>): Promise<RunningConsumer> {
  const { js, db, inbox, failures, spec, schema, handler } = options;
  const consumerName = spec.durable;
  const log = options.logger.child({ consumer: consumerName });
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  const outageRetryDelayMs = options.outageRetryDelayMs ?? 1000;
  let outage: Promise<void> | undefined;
  const concurrency = options.concurrency ?? 1;

  async function runHandler(event: MessageShape<S>, meta: HandlerContext<S>["meta"]): Promise<"handled" | "duplicate"> {
    const entry = { eventId: meta.eventId, consumer: consumerName, subject: meta.subject };
    if (options.inboxOutsideTransaction) {
      if (!(await recordInInbox(db, inbox, entry))) return "duplicate";
      await transaction(db, (tx) => handler({ tx, event, meta, log }));
      return "handled";
    }
    return transaction(db, async (tx) => {
      if (!(await recordInInbox(tx, inbox, entry))) return "duplicate";
      await handler({ tx, event, meta, log });
      // Redelivered: it may have failed before; the count goes with the success.
      if (meta.deliveryCount > 1) await clearFailures(tx, failures, meta.eventId, consumerName);
      return "handled";
    });
  }

  async function deadLetter(msg: JsMsg, reason: string): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        await sendToDeadLetters(js, msg, { consumer: consumerName, reason });
        // A plain +TERM: nats-server 2.9 ignores "+TERM <reason>" (the reason came in 2.10.4), and
        // the message would come back after AckWait to be dead-lettered again. The reason is in
        // the dead letter's headers.
        msg.term();
        log.error({ reason, deliveryCount: msg.info.deliveryCount }, "message sent to the dead letters");
        return "dead-lettered";
      } catch (err) {
        if (attempt >= 3) {
          // Keep the message: it will come back after AckWait.
          log.error({ err: (err as Error).message }, "cannot publish the dead letter; leaving the message unacked");
          msg.nak(outageRetryDelayMs);
          return "unavailable";
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  async function processMessage(msg: JsMsg): Promise<void> {
    const started = performance.now();
    const meta = { ...readEventMeta(msg.headers), subject: msg.subject, deliveryCount: msg.info.deliveryCount };
    const correlation = { correlationId: meta.correlationId || mintCorrelationId(), causationId: meta.eventId };
    if (options.disableTelemetry) {
      await withCorrelation(correlation, () => deliver(msg, meta));
      return;
    }
    const message = {
      subject: msg.subject,
      id: meta.eventId,
      consumer: consumerName,
      deliveryCount: meta.deliveryCount,
    };
    const outcome = await withCorrelation(correlation, () =>
      withProcessSpan(meta, message, async (span) => {
        const result = await deliver(msg, meta);
        span.setAttribute("orderflow.outcome", result);
        if (result === "retry" || result === "unavailable" || result === "dead-lettered")
          span.setStatus({ code: SpanStatusCode.ERROR, message: result });
        return result;
      }),
    );
    options.observer?.onDelivery?.({
      consumer: consumerName,
      outcome,
      seconds: (performance.now() - started) / 1000,
      deliveryCount: meta.deliveryCount,
    });
  }

  /** One delivery: decode, handle in a transaction, then ack, nak or dead-letter. */
  async function deliver(msg: JsMsg, meta: HandlerContext<S>["meta"]): Promise<Outcome> {
    let event: MessageShape<S>;
    try {
      event = fromBinary(schema, msg.data);
    } catch (err) {
      return deadLetter(msg, `undecodable ${schema.typeName}: ${(err as Error).message}`);
    }
    if (!meta.eventId) return deadLetter(msg, "no event id (Nats-Msg-Id or X-Event-Id)");
    const heartbeat = options.disableInProgressAcks
      ? undefined
      : setInterval(() => msg.working(), Math.max(100, Math.floor(spec.ackWaitMs / 3)));
    try {
      const result = await runHandler(event, meta);
      msg.ack();
      if (result === "duplicate") log.info({ eventId: meta.eventId }, "duplicate event acked with no effect");
      else log.info({ eventId: meta.eventId, deliveryCount: meta.deliveryCount }, "event handled");
      return result;
    } catch (err) {
      const reason = `${(err as Error).name}: ${(err as Error).message}`;
      if (err instanceof PermanentError) return deadLetter(msg, reason);
      if (isConnectionError(err)) return databaseAway(msg, reason);
      let count: number;
      try {
        count = await recordFailure(db, failures, { eventId: meta.eventId, consumer: consumerName, error: reason });
      } catch (countErr) {
        if (isConnectionError(countErr)) return databaseAway(msg, reason);
        throw countErr;
      }
      if (count >= spec.maxDeliver) {
        const outcome = await deadLetter(msg, `still failing after ${count} attempts: ${reason}`);
        if (outcome === "dead-lettered") await clearFailures(db, failures, meta.eventId, consumerName).catch(() => {});
        return outcome;
      }
      const delay = retryDelayMs(count);
      log.warn({ err: reason, failures: count, retryInMs: delay }, "handler failed; will retry");
      msg.nak(delay);
      return "retry";
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * The database is unreachable: hand the message back (not counted) and stop
   * pulling until the database answers; the messages in flight meet the same.
   */
  function databaseAway(msg: JsMsg, reason: string): Outcome {
    msg.nak(outageRetryDelayMs);
    if (!outage) {
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
    return "unavailable";
  }

  const consumer = await js.consumers.get(streamOf(spec.subject), spec.durable);
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let batch: ConsumerMessages | undefined;

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
          const work = processMessage(msg).catch((err) => log.error({ err }, "message processing crashed"));
          inFlight.add(work);
          void work.finally(() => inFlight.delete(work));
        }
      } catch (err) {
        if (stopped) break;
        log.warn({ err: (err as Error).message }, "fetching messages failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
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
