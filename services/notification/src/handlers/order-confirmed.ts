import { EVENTS, OrderConfirmedSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import type { NotificationSender } from "../notification-sender.js";
import { sendNotification } from "../send-notification.js";

export function onOrderConfirmed(sender: NotificationSender) {
  return subscribe({
    durable: "notification-order-confirmed",
    subject: EVENTS.orderConfirmed.subject,
    schema: OrderConfirmedSchema,
    handler: ({ tx, event }) =>
      sendNotification(
        tx,
        {
          orderId: event.orderId,
          customerId: event.customerId,
          kind: "order_confirmed",
          detail: `total ${(Number(event.totalCents) / 100).toFixed(2)}`,
        },
        sender,
      ),
    replay: {
      replayable: false,
      why: "it sends the customer a message: a notification must never be sent twice",
    },
  });
}
