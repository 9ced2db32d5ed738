import { EVENTS, OrderCancelledSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import type { NotificationSender } from "../notification-sender.js";
import { sendNotification } from "../send-notification.js";

export function onOrderCancelled(sender: NotificationSender) {
  return subscribe({
    durable: "notification-order-cancelled",
    subject: EVENTS.orderCancelled.subject,
    schema: OrderCancelledSchema,
    handler: ({ tx, event }) =>
      sendNotification(
        tx,
        { orderId: event.orderId, customerId: event.customerId, kind: "order_cancelled", detail: event.reason },
        sender,
      ),
    replay: {
      replayable: false,
      why: "it sends the customer a message: a notification must never be sent twice",
    },
  });
}
