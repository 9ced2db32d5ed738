/**
 * On orders.order.confirmed / orders.order.cancelled: tell the customer, once
 * per order and kind, and announce it (notifications.notification.sent).
 * The row is inserted before the provider is called: a conflict means it was
 * already sent. (Payment does the opposite, on purpose: its provider is
 * idempotent by the order id; a notification provider has no such key, so
 * the row is the claim to send.) A failure after the provider call rolls the row back and the
 * redelivery sends again: at-least-once toward an outside provider, which is
 * what a provider's own idempotency key is for.
 */

import { EVENTS } from "@orderflow/contracts";
import { newId, type Tx } from "@orderflow/db";
import { addToOutbox } from "@orderflow/messaging";
import { messaging, notifications } from "./db/schema.js";
import type { NotificationSender } from "./notification-sender.js";

export interface OrderOutcome {
  orderId: string;
  customerId: string;
  kind: "order_confirmed" | "order_cancelled";
  detail: string;
}

export async function sendNotification(tx: Tx, outcome: OrderOutcome, sender: NotificationSender): Promise<void> {
  const id = newId();
  const body =
    outcome.kind === "order_confirmed"
      ? `Your order ${outcome.orderId} is confirmed (${outcome.detail}).`
      : `Your order ${outcome.orderId} was cancelled: ${outcome.detail}.`;
  const inserted = await tx
    .insert(notifications)
    .values({ id, orderId: outcome.orderId, kind: outcome.kind, channel: "email", recipient: outcome.customerId, body })
    .onConflictDoNothing()
    .returning({ id: notifications.id });
  if (inserted.length === 0) return;
  await sender.send({ id, recipient: outcome.customerId, channel: "email", body });
  await addToOutbox(tx, messaging.outbox, EVENTS.notificationSent, {
    orderId: outcome.orderId,
    notificationId: id,
    channel: "email",
    kind: outcome.kind,
  });
}
