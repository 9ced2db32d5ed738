/**
 * One delivery's decision: what happens to ONE message a consumer pulled.
 * (The pull loop around it, run-consumer.ts, decides how many at once and
 * when to pause.)
 *
 * Decode; open ONE database transaction; record the event in the inbox
 * (inbox.ts) and run the handler in it; commit; only then ack. So:
 * - a crash before the commit leaves no trace, and the message is redelivered;
 * - a crash after the commit but before the ack redelivers a duplicate, which
 *   the inbox turns into an ack with no effect;
 * - a failing handler naks with a growing delay (backoff); its failures are
 *   counted (consumer-failures.ts), and at maxDeliver the message is poison;
 * - the database being away is not the message's fault: a connection-class
 *   error naks with a delay, is NOT counted, and the outcome is `unavailable`
 *   (onDatabaseAway: the pull loop pauses its intake until the database answers);
 * - a poison message (undecodable, a PermanentError, or failing maxDeliver
 *   times) goes to the dead letters (dead-letters.ts) and is terminated, so
 *   the others keep flowing;
 * - a long handler sends in-progress acks, so JetStream does not redeliver it
 *   under AckWait while it is still working.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { SpanStatusCode } from "@opentelemetry/api";
import { exponentialBackoff } from "@orderflow/backoff";
import { isConnectionError, type Tx, transaction } from "@orderflow/db";
import { type Logger, mintCorrelationId, withCorrelation } from "@orderflow/logging";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { type ConsumerFailuresTable, clearFailures, recordFailure } from "./consumer-failures.js";
import { sendToDeadLetters } from "./dead-letters.js";
import { type InboxTable, recordInInbox } from "./inbox.js";
import { type EventMeta, readEventMeta } from "./message-headers.js";
import type { ConsumerSpec } from "./provision.js";
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

export interface DeliveryOptions<S extends DescMessage> {
  js: JetStreamClient;
  db: NodePgDatabase;
  inbox: InboxTable;
  /** Where failures with the infrastructure healthy are counted (consumer-failures.ts). */
  failures: ConsumerFailuresTable;
  spec: ConsumerSpec;
  schema: S;
  handler: Handler<S>;
  logger: Logger;
  /** Delay before redelivery after a handler failure, by the number of failures so far (1-based). */
  retryDelayMs?: (failures: number) => number;
  /** Delay before redelivery when the database is unreachable (default 1 s). */
  outageRetryDelayMs?: number;
  observer?: ConsumerObserver;
  /** Told when a delivery found the database unreachable (the pull loop pauses its intake). */
  onDatabaseAway?: (reason: string) => void;
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

export const defaultRetryDelayMs = exponentialBackoff({ baseMs: 250, maxMs: 30_000 });

/** Returns the function that takes one message to its outcome: acked, naked or dead-lettered. */
export function deliveryOf<S extends DescMessage>(options: DeliveryOptions<S>): (msg: JsMsg) => Promise<Outcome> {
  const { js, db, inbox, failures, spec, schema, handler } = options;
  const consumer = spec.durable;
  const log = options.logger.child({ consumer });
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  const outageRetryDelayMs = options.outageRetryDelayMs ?? 1000;
  type Meta = HandlerContext<S>["meta"];

  /** The inbox record and the handler's work, in one transaction. */
  async function handleOnce(event: MessageShape<S>, meta: Meta): Promise<"handled" | "duplicate"> {
    const entry = { eventId: meta.eventId, consumer, subject: meta.subject };
    if (options.inboxOutsideTransaction) {
      if (!(await recordInInbox(db, inbox, entry))) return "duplicate";
      await transaction(db, (tx) => handler({ tx, event, meta, log }));
      return "handled";
    }
    return transaction(db, async (tx) => {
      if (!(await recordInInbox(tx, inbox, entry))) return "duplicate";
      await handler({ tx, event, meta, log });
      // Redelivered: it may have failed before; the count goes with the success.
      if (meta.deliveryCount > 1) await clearFailures(tx, failures, meta.eventId, consumer);
      return "handled";
    });
  }

  async function deadLetter(msg: JsMsg, reason: string): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        await sendToDeadLetters(js, msg, { consumer, reason });
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
        await sleep(200 * attempt);
      }
    }
  }

  /** The database is unreachable: hand the message back, not counted, and say so. */
  function databaseAway(msg: JsMsg, reason: string): Outcome {
    msg.nak(outageRetryDelayMs);
    options.onDatabaseAway?.(reason);
    return "unavailable";
  }

  /** A handler failed with the database up: count it, then retry later or give up. */
  async function failed(msg: JsMsg, meta: Meta, err: unknown): Promise<Outcome> {
    const reason = `${(err as Error).name}: ${(err as Error).message}`;
    if (err instanceof PermanentError) return deadLetter(msg, reason);
    if (isConnectionError(err)) return databaseAway(msg, reason);
    let count: number;
    try {
      count = await recordFailure(db, failures, { eventId: meta.eventId, consumer, error: reason });
    } catch (countErr) {
      if (isConnectionError(countErr)) return databaseAway(msg, reason);
      throw countErr;
    }
    if (count >= spec.maxDeliver) {
      const outcome = await deadLetter(msg, `still failing after ${count} attempts: ${reason}`);
      if (outcome === "dead-lettered") await clearFailures(db, failures, meta.eventId, consumer).catch(() => {});
      return outcome;
    }
    const delay = retryDelayMs(count);
    log.warn({ err: reason, failures: count, retryInMs: delay }, "handler failed; will retry");
    msg.nak(delay);
    return "retry";
  }

  /** Decode, handle in a transaction, then ack, nak or dead-letter. */
  async function decide(msg: JsMsg, meta: Meta): Promise<Outcome> {
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
      const result = await handleOnce(event, meta);
      msg.ack();
      if (result === "duplicate") log.info({ eventId: meta.eventId }, "duplicate event acked with no effect");
      // One info line per batch (batch-delivery.ts); this one per message is debug.
      else log.debug({ eventId: meta.eventId, deliveryCount: meta.deliveryCount }, "event handled");
      return result;
    } catch (err) {
      return await failed(msg, meta, err);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** One delivery, in its correlation context and its process span, reported to the observer. */
  return async (msg) => {
    const started = performance.now();
    const meta = { ...readEventMeta(msg.headers), subject: msg.subject, deliveryCount: msg.info.deliveryCount };
    const correlation = { correlationId: meta.correlationId || mintCorrelationId(), causationId: meta.eventId };
    if (options.disableTelemetry) return withCorrelation(correlation, () => decide(msg, meta));
    const message = { subject: msg.subject, id: meta.eventId, consumer, deliveryCount: meta.deliveryCount };
    const outcome = await withCorrelation(correlation, () =>
      withProcessSpan(meta, message, async (span) => {
        const result = await decide(msg, meta);
        span.setAttribute("orderflow.outcome", result);
        if (result === "retry" || result === "unavailable" || result === "dead-lettered")
          span.setStatus({ code: SpanStatusCode.ERROR, message: result });
        return result;
      }),
    );
    options.observer?.onDelivery?.({
      consumer,
      outcome,
      seconds: (performance.now() - started) / 1000,
      deliveryCount: meta.deliveryCount,
    });
    return outcome;
  };
}
