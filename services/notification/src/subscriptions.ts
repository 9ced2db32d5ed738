/** What the notification service consumes: an order's outcome, which it tells the customer of. */
import { EVENTS, OrderCancelledSchema, OrderConfirmedSchema } from "@orderflow/contracts";
import { type Subscription, subscribe } from "@orderflow/messaging";
import type { NotificationSender } from "./notification-sender.js";
import { sendNotification } from "./send-notification.js";

const NEVER_TWICE = {
  replayable: false,
  why: "it sends the customer a message: a notification must never be sent twice",
} as const;

/**
 * The provider is called inside the transaction and has no idempotency key: in
 * a batch that failed and was retried one by one, the good messages' customers
 * would be told twice. So one message per transaction.
 */
const ONE_AT_A_TIME = { maxSize: 1 } as const;

export function notificationSubscriptions(sender: NotificationSender): Subscription[] {
  return [
    subscribe({
      durable: "notification-order-confirmed",
      subject: EVENTS.orderConfirmed.subject,
      schema: OrderConfirmedSchema,
      handler: ({ tx, event }) => {
        const detail = `total ${(Number(event.totalCents) / 100).toFixed(2)}`;
        return sendNotification(tx, { ...event, kind: "order_confirmed", detail }, sender);
      },
      batch: ONE_AT_A_TIME,
      replay: NEVER_TWICE,
    }),
    subscribe({
      durable: "notification-order-cancelled",
      subject: EVENTS.orderCancelled.subject,
      schema: OrderCancelledSchema,
      handler: ({ tx, event }) =>
        sendNotification(tx, { ...event, kind: "order_cancelled", detail: event.reason }, sender),
      batch: ONE_AT_A_TIME,
      replay: NEVER_TWICE,
    }),
  ];
}
