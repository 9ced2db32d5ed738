/** What the notification service consumes: an order's outcome, which it tells the customer of. */
import { EVENTS, OrderCancelledSchema, OrderConfirmedSchema } from "@orderflow/contracts";
import { type Subscription, subscribe } from "@orderflow/messaging";
import type { Notifier } from "./send-notification.js";

const NEVER_TWICE = {
  replayable: false,
  why: "it sends the customer a message: a notification must never be sent twice",
} as const;

/**
 * Batches like every consumer: the handler only claims the notification in the
 * batch's transaction; the provider is called after COMMIT (send-notification.ts),
 * so a batch retried one message at a time tells nobody twice.
 */
export function notificationSubscriptions(notifier: Notifier): Subscription[] {
  return [
    subscribe({
      durable: "notification-order-confirmed",
      subject: EVENTS.orderConfirmed.subject,
      schema: OrderConfirmedSchema,
      handler: ({ tx, event }) => {
        const detail = `total ${(Number(event.totalCents) / 100).toFixed(2)}`;
        return notifier.claim(tx, { ...event, kind: "order_confirmed", detail });
      },
      replay: NEVER_TWICE,
    }),
    subscribe({
      durable: "notification-order-cancelled",
      subject: EVENTS.orderCancelled.subject,
      schema: OrderCancelledSchema,
      handler: ({ tx, event }) => notifier.claim(tx, { ...event, kind: "order_cancelled", detail: event.reason }),
      replay: NEVER_TWICE,
    }),
  ];
}
