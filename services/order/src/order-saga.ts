/**
 * The order saga, seen from the order: how an order moves on each result.
 *
 *   placed --stock reserved--> waits on payment --payment succeeded--> CONFIRMED
 *      \--stock rejected--> CANCELLED           \--payment failed--> CANCELLED (+ stock released)
 *   CONFIRMED / CANCELLED --notification sent--> "notified" on the timeline
 *
 * Each function runs in the consumer runner's transaction (the inbox record
 * commits with it), locks the order row, and moves only a pending order: a
 * late or repeated result for an order already decided changes nothing.
 */

import type { DescMessage } from "@bufbuild/protobuf";
import { EVENTS, type PaymentSucceeded, type StockReserved } from "@orderflow/contracts";
import { addToOutbox, type HandlerContext, PermanentError } from "@orderflow/messaging";
import { and, eq, sql } from "drizzle-orm";
import { orderItems, orders, orderTimeline, outbox } from "./db/schema.js";

type Tx = HandlerContext<DescMessage>["tx"];
type OrderRow = typeof orders.$inferSelect;

async function lockOrder(tx: Tx, orderId: string): Promise<OrderRow> {
  const [order] = await tx.select().from(orders).where(eq(orders.id, orderId)).for("update");
  // The order row commits before its first event is published: a result for an unknown order is not ours.
  if (!order) throw new PermanentError(`order ${orderId} does not exist`);
  return order;
}

async function step(tx: Tx, orderId: string, name: string, detail = "") {
  await tx.insert(orderTimeline).values({ orderId, step: name, detail });
}

const money = (cents: bigint | number) => (Number(cents) / 100).toFixed(2);

export async function recordStockReserved(tx: Tx, event: StockReserved): Promise<void> {
  const order = await lockOrder(tx, event.orderId);
  if (order.status !== "PENDING" || order.waitingOn !== "stock") return;
  for (const line of event.items) {
    await tx
      .update(orderItems)
      .set({ unitPriceCents: Number(line.unitPriceCents) })
      .where(and(eq(orderItems.orderId, order.id), eq(orderItems.sku, line.sku)));
  }
  await tx
    .update(orders)
    .set({
      totalCents: Number(event.totalCents),
      waitingOn: "payment",
      waitingSince: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(eq(orders.id, order.id));
  await step(tx, order.id, "stock_reserved", `total ${money(event.totalCents)}`);
}

export async function rejectForStock(tx: Tx, orderId: string, reason: string): Promise<void> {
  const order = await lockOrder(tx, orderId);
  if (order.status !== "PENDING") return;
  await step(tx, order.id, "stock_rejected", reason);
  await cancel(tx, order, reason, false);
}

export async function confirmPaid(tx: Tx, event: PaymentSucceeded): Promise<void> {
  const order = await lockOrder(tx, event.orderId);
  if (order.status !== "PENDING") return;
  await tx
    .update(orders)
    .set({ status: "CONFIRMED", waitingOn: null, waitingSince: null, updatedAt: sql`now()` })
    .where(eq(orders.id, order.id));
  await step(tx, order.id, "payment_succeeded", `charged ${money(event.amountCents)}`);
  await step(tx, order.id, "confirmed");
  await addToOutbox(tx, outbox, EVENTS.orderConfirmed, {
    orderId: order.id,
    customerId: order.customerId,
    totalCents: event.amountCents,
  });
}

export async function cancelUnpaid(tx: Tx, orderId: string, reason: string): Promise<void> {
  const order = await lockOrder(tx, orderId);
  if (order.status !== "PENDING") return;
  await step(tx, order.id, "payment_failed", reason);
  await cancel(tx, order, `payment declined: ${reason}`, true);
}

export async function recordNotified(tx: Tx, orderId: string, kind: string): Promise<void> {
  const order = await lockOrder(tx, orderId);
  await step(tx, order.id, "notified", kind);
  await tx.update(orders).set({ updatedAt: sql`now()` }).where(eq(orders.id, order.id));
}

async function cancel(tx: Tx, order: OrderRow, reason: string, stockWasReserved: boolean) {
  await tx
    .update(orders)
    .set({ status: "CANCELLED", cancelReason: reason, waitingOn: null, waitingSince: null, updatedAt: sql`now()` })
    .where(eq(orders.id, order.id));
  await step(tx, order.id, "cancelled", reason);
  await addToOutbox(tx, outbox, EVENTS.orderCancelled, {
    orderId: order.id,
    customerId: order.customerId,
    reason,
    stockWasReserved,
  });
}
