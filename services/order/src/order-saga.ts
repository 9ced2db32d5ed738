/**
 * The order saga, seen from the order: how an order moves on each result.
 *
 *   placed --stock reserved--+--payment succeeded--> CONFIRMED
 *      |                     \--payment failed--> CANCELLED (+ stock released)
 *      \--stock rejected--> CANCELLED
 *   CONFIRMED / CANCELLED --notification sent--> "notified" on the timeline
 *
 * Results arrive in ANY order. Payment consumes inventory.stock.reserved too,
 * and the two results travel on different streams, so the payment result can
 * reach the order before the stock result does. So each result is first
 * recorded on the order row (stock_result, payment_result), whichever comes
 * first, and the status follows only from what is recorded (decide()):
 * reserved + succeeded -> CONFIRMED; rejected, or reserved + failed ->
 * CANCELLED. A payment result that comes first waits on the row for the stock
 * result; the timeline is written when a result is applied, so the stock step
 * always stands before the payment step, each once.
 *
 * Each function runs in the consumer runner's transaction (the inbox record
 * commits with it) and locks the order row. A repeated result changes nothing.
 */

import { EVENTS, type PaymentSucceeded, type StockReserved } from "@orderflow/contracts";
import type { Tx } from "@orderflow/db";
import { addToOutbox, PermanentError } from "@orderflow/messaging";
import { and, eq, sql } from "drizzle-orm";
import type { PgUpdateSetSource } from "drizzle-orm/pg-core";
import { messaging, orderItems, orders, orderTimeline } from "./db/schema.js";

type OrderRow = typeof orders.$inferSelect;

async function lockOrder(tx: Tx, orderId: string): Promise<OrderRow> {
  const [order] = await tx.select().from(orders).where(eq(orders.id, orderId)).for("update");
  // The order row commits before its first event is published: a result for an unknown order is not ours.
  if (!order) throw new PermanentError(`order ${orderId} does not exist`);
  return order;
}

/**
 * A timeline step, timed when it is written (clock_timestamp), not when the
 * transaction began (now()): a transaction that waited for the order's lock
 * must not date its step before the step of the one it waited for.
 */
async function step(tx: Tx, orderId: string, name: string, detail = "") {
  await tx.insert(orderTimeline).values({ orderId, step: name, detail, at: sql`clock_timestamp()` });
}

const money = (cents: bigint | number) => (Number(cents) / 100).toFixed(2);

export async function recordStockReserved(tx: Tx, event: StockReserved): Promise<void> {
  const order = await lockOrder(tx, event.orderId);
  if (order.stockResult) return; // a repeat
  for (const line of event.items) {
    await tx
      .update(orderItems)
      .set({ unitPriceCents: Number(line.unitPriceCents) })
      .where(and(eq(orderItems.orderId, order.id), eq(orderItems.sku, line.sku)));
  }
  const recorded = await update(tx, order, {
    stockResult: "reserved",
    totalCents: Number(event.totalCents),
    ...(order.status === "PENDING" ? { waitingOn: "payment", waitingSince: sql`now()` } : {}),
  });
  await step(tx, order.id, "stock_reserved", `total ${money(event.totalCents)}`);
  await decide(tx, recorded);
}

/**
 * The replay of inventory.stock.reserved (replay.ts): the lines' unit prices
 * and the total, recomputed from the event and overwritten. Nothing else: the
 * status, the timeline and the events already published stay as they are.
 */
export async function repriceFromStockReserved(tx: Tx, event: StockReserved): Promise<void> {
  const order = await lockOrder(tx, event.orderId);
  for (const line of event.items) {
    await tx
      .update(orderItems)
      .set({ unitPriceCents: Number(line.unitPriceCents) })
      .where(and(eq(orderItems.orderId, order.id), eq(orderItems.sku, line.sku)));
  }
  await update(tx, order, { totalCents: Number(event.totalCents) });
}

export async function rejectForStock(tx: Tx, orderId: string, reason: string): Promise<void> {
  const order = await lockOrder(tx, orderId);
  if (order.stockResult) return;
  const recorded = await update(tx, order, { stockResult: "rejected", cancelReason: reason });
  await step(tx, order.id, "stock_rejected", reason);
  await decide(tx, recorded);
}

export async function confirmPaid(tx: Tx, event: PaymentSucceeded): Promise<void> {
  const order = await lockOrder(tx, event.orderId);
  if (order.paymentResult) return;
  const recorded = await update(tx, order, {
    paymentResult: "succeeded",
    paymentAmountCents: Number(event.amountCents),
    paymentDetail: `charged ${money(event.amountCents)}`,
  });
  await decide(tx, recorded);
}

export async function cancelUnpaid(tx: Tx, orderId: string, reason: string): Promise<void> {
  const order = await lockOrder(tx, orderId);
  if (order.paymentResult) return;
  const recorded = await update(tx, order, { paymentResult: "failed", paymentDetail: reason });
  await decide(tx, recorded);
}

/**
 * The rules, applied to what is recorded. The payment step is written here,
 * once, and only after the stock step: a payment result that came first waits.
 */
async function decide(tx: Tx, order: OrderRow): Promise<void> {
  if (order.status !== "PENDING") return;
  if (order.stockResult === "rejected") {
    await cancel(tx, order, order.cancelReason ?? "stock rejected", false);
    return;
  }
  if (order.stockResult !== "reserved" || !order.paymentResult) return; // waits for the other result
  if (order.paymentResult === "succeeded") {
    await step(tx, order.id, "payment_succeeded", order.paymentDetail ?? "");
    await update(tx, order, { status: "CONFIRMED", waitingOn: null, waitingSince: null });
    await step(tx, order.id, "confirmed");
    await addToOutbox(tx, messaging.outbox, EVENTS.orderConfirmed, {
      orderId: order.id,
      customerId: order.customerId,
      totalCents: BigInt(order.paymentAmountCents ?? 0),
    });
    return;
  }
  await step(tx, order.id, "payment_failed", order.paymentDetail ?? "");
  await cancel(tx, order, `payment declined: ${order.paymentDetail ?? ""}`, true);
}

async function update(tx: Tx, order: OrderRow, changes: PgUpdateSetSource<typeof orders>): Promise<OrderRow> {
  const [row] = await tx
    .update(orders)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(eq(orders.id, order.id))
    .returning();
  return row ?? order;
}

export async function recordNotified(tx: Tx, orderId: string, kind: string): Promise<void> {
  const order = await lockOrder(tx, orderId);
  await step(tx, order.id, "notified", kind);
  await tx.update(orders).set({ updatedAt: sql`now()` }).where(eq(orders.id, order.id));
}

async function cancel(tx: Tx, order: OrderRow, reason: string, stockWasReserved: boolean) {
  await update(tx, order, { status: "CANCELLED", cancelReason: reason, waitingOn: null, waitingSince: null });
  await step(tx, order.id, "cancelled", reason);
  await addToOutbox(tx, messaging.outbox, EVENTS.orderCancelled, {
    orderId: order.id,
    customerId: order.customerId,
    reason,
    stockWasReserved,
  });
}
