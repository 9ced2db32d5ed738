/**
 * On orders.order.confirmed / orders.order.cancelled: tell the customer, once
 * per order and kind, and announce it (notifications.notification.sent).
 *
 * The notification to the customer is an outgoing message like an event, and
 * goes the way the outbox's do: CLAIMED in the transaction of the message that
 * asks for it (a row, unique per order and kind: a redelivery or a second
 * event claims nothing), SENT after that transaction commits, and MARKED sent,
 * with its NotificationSent event in the outbox, in one transaction per batch.
 * The provider is never called inside the consumer's transaction, so a batch
 * that fails and is retried one message at a time tells nobody twice, and a
 * provider failure holds back only its own notification (retried with
 * backoff), not the batch. A row claimed and not sent (the process died
 * between COMMIT and the send, or the send failed) is sent by the sweep once
 * due. Toward the provider it is at-least-once, like any send without an
 * idempotency key: a crash between the provider's answer and the mark sends
 * that one again. Two dispatchers (replicas) never send one row at once: each
 * locks what it sends (FOR UPDATE SKIP LOCKED) and skips what is sent.
 */

import { backoffDelayMs } from "@orderflow/backoff";
import { EVENTS } from "@orderflow/contracts";
import { afterCommit, beforeCommit, newId, type Tx, transaction, unitOfWork } from "@orderflow/db";
import { addToOutbox, contextHeaders } from "@orderflow/messaging";
import { and, asc, inArray, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { messaging, notifications } from "./db/schema.js";
import type { NotificationSender } from "./notification-sender.js";

export interface OrderOutcome {
  orderId: string;
  customerId: string;
  kind: "order_confirmed" | "order_cancelled";
  detail: string;
}

type Claim = typeof notifications.$inferInsert;

/** Rows one dispatch locks, sends and marks at most. */
export const DISPATCH_BATCH = 100;
/** How a failed send is retried: 1 s, 2 s, 4 s, ... at most a minute apart. */
const RETRY = { baseMs: 1000, maxMs: 60_000 } as const;

/** A transaction's claims, inserted in one statement with its other writes just before COMMIT. */
const claims = unitOfWork<Claim[]>(
  () => [],
  (tx, unit) => {
    const rows = unit.splice(0);
    return rows.length ? [tx.insert(notifications).values(rows).onConflictDoNothing().getSQL()] : [];
  },
);

export interface Notifier {
  /** In the consumer's transaction: claims the notification of this outcome (nothing if it was claimed before). */
  claim(tx: Tx, outcome: OrderOutcome): Promise<void>;
  /** Sends, marks and announces what is claimed, unsent and due (the sweep); returns how many rows it took. */
  sweep(): Promise<number>;
  /** Sends these claimed rows now (what a commit claimed); returns how many it took. */
  dispatch(ids: string[]): Promise<number>;
  /** Resolves once what committed claims queued has been dispatched (or failed to be). */
  settled(): Promise<void>;
  /** Stops the sweep and waits for the dispatch in progress. */
  stop(): Promise<void>;
}

export interface NotifierOptions {
  db: NodePgDatabase;
  sender: NotificationSender;
  /** How often the sweep looks for claimed rows left unsent (0: never, tests call sweep()). */
  sweepEveryMs: number;
  onSendFailed?: (info: { notificationId: string; attempts: number; err: Error }) => void;
  onDispatchFailed?: (err: Error) => void;
}

export function notifier(options: NotifierOptions): Notifier {
  const { db, sender } = options;
  // Claimed in committed transactions of this process, not yet dispatched: sent by one dispatch at a time,
  // so what several commits claimed meanwhile goes as one batch.
  const queued: string[] = [];
  let running: Promise<void> | undefined;
  let stopped = false;

  function enqueue(ids: string[]) {
    queued.push(...ids);
    running ??= (async () => {
      // What the other commits of this turn claim goes with it.
      await new Promise((resolve) => setImmediate(resolve));
      while (queued.length && !stopped) await dispatch(queued.splice(0, DISPATCH_BATCH));
    })()
      .catch((err: Error) => options.onDispatchFailed?.(err)) // the sweep sends them once due
      .finally(() => {
        running = undefined;
        if (queued.length && !stopped) enqueue([]);
      });
  }

  /** Locks the unsent rows `where` picks, sends each, marks the sent and announces them, backs off the failed. */
  function sendWhere(where: SQL | undefined): Promise<number> {
    return transaction(db, async (tx) => {
      const due = await tx
        .select()
        .from(notifications)
        .where(and(isNull(notifications.sentAt), where))
        .orderBy(asc(notifications.nextAttemptAt))
        .limit(DISPATCH_BATCH)
        .for("update", { skipLocked: true });
      const sent: string[] = [];
      for (const n of due) {
        try {
          await sender.send({ id: n.id, recipient: n.recipient, channel: n.channel, body: n.body });
        } catch (err) {
          const attempts = n.attempts + 1;
          options.onSendFailed?.({ notificationId: n.id, attempts, err: err as Error });
          await tx
            .update(notifications)
            .set({
              attempts,
              lastError: String((err as Error).message ?? err).slice(0, 500),
              nextAttemptAt: sql`now() + ${`${backoffDelayMs(attempts, RETRY)} milliseconds`}::interval`,
            })
            .where(inArray(notifications.id, [n.id]));
          continue;
        }
        sent.push(n.id);
        await addToOutbox(
          tx,
          messaging.outbox,
          EVENTS.notificationSent,
          { orderId: n.orderId, notificationId: n.id, channel: n.channel, kind: n.kind },
          n.eventHeaders ?? {},
        );
      }
      if (sent.length) {
        const mark = tx
          .update(notifications)
          .set({ sentAt: sql`now()` })
          .where(inArray(notifications.id, sent))
          .getSQL();
        // With the outbox rows, in one statement before COMMIT.
        if (!beforeCommit(tx, mark, () => [mark])) await tx.execute(mark);
      }
      return due.length;
    });
  }

  const dispatch = (ids: string[]) => (ids.length ? sendWhere(inArray(notifications.id, ids)) : Promise.resolve(0));

  async function sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await sendWhere(lte(notifications.nextAttemptAt, sql`now()`));
      total += n;
      if (n < DISPATCH_BATCH || stopped) return total;
    }
  }

  let sweeping: Promise<unknown> = Promise.resolve();
  const timer =
    options.sweepEveryMs > 0
      ? setInterval(() => {
          sweeping = sweeping.then(() => sweep().catch((err: Error) => options.onDispatchFailed?.(err)));
        }, options.sweepEveryMs)
      : undefined;
  timer?.unref();

  return {
    async claim(tx, outcome) {
      const body =
        outcome.kind === "order_confirmed"
          ? `Your order ${outcome.orderId} is confirmed (${outcome.detail}).`
          : `Your order ${outcome.orderId} was cancelled: ${outcome.detail}.`;
      const id = newId();
      claims.of(tx).push({
        id,
        orderId: outcome.orderId,
        kind: outcome.kind,
        channel: "email",
        recipient: outcome.customerId,
        body,
        // This message's context (correlation, causation, trace), for the event that announces the send.
        eventHeaders: contextHeaders(),
      });
      await claims.saved(tx);
      // Sent once this commits; a claim that conflicted (claimed before) is not found by the dispatch.
      afterCommit(tx, () => enqueue([id]));
    },
    sweep,
    dispatch,
    async settled() {
      while (running) await running;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await sweeping;
      await running;
    },
  };
}
