/**
 * The order saga, applied: each result locks its order's row, asks the rules
 * (saga-rules.ts, a pure function) what it changes, and writes that: the unit
 * prices, the order row in one update, the timeline steps in one insert, the
 * events to publish in the outbox. Everything runs in the consumer runner's
 * transaction (the inbox record commits with it); a repeated result changes
 * nothing.
 */

import { EVENTS, type PaymentSucceeded, type StockReserved } from "@orderflow/contracts";
import type { Tx } from "@orderflow/db";
import { addToOutbox, PermanentError } from "@orderflow/messaging";
import { and, eq, sql } from "drizzle-orm";
import { messaging, orderItems, orders, orderTimeline } from "./db/schema.js";
import { applyResult, type SagaResult, type SagaState } from "./saga-rules.js";

type OrderRow = typeof orders.$inferSelect;

async function lockOrder(tx: Tx, orderId: string): Promise<OrderRow> {
  const [order] = await tx.select().from(orders).where(eq(orders.id, orderId)).for("update");
  // The order row commits before its first event is published: a result for an unknown order is not ours.
  if (!order) throw new PermanentError(`order ${orderId} does not exist`);
  return order;
}

const stateOf = (o: OrderRow): SagaState => ({
  status: o.status,
  stockResult: o.stockResult as SagaState["stockResult"],
  paymentResult: o.paymentResult as SagaState["paymentResult"],
  cancelReason: o.cancelReason,
  paymentDetail: o.paymentDetail,
  paymentAmountCents: o.paymentAmountCents,
  totalCents: o.totalCents,
  waitingOn: o.waitingOn,
});

async function setUnitPrices(tx: Tx, orderId: string, prices: { sku: string; unitPriceCents: number }[]) {
  for (const line of prices) {
    await tx
      .update(orderItems)
      .set({ unitPriceCents: line.unitPriceCents })
      .where(and(eq(orderItems.orderId, orderId), eq(orderItems.sku, line.sku)));
  }
}

/** One result, applied to its order as the rules decide. */
async function apply(tx: Tx, orderId: string, result: SagaResult): Promise<void> {
  const order = await lockOrder(tx, orderId);
  const decision = applyResult(stateOf(order), result);
  if (!decision) return; // a repeat
  const { next } = decision;
  await setUnitPrices(tx, order.id, decision.unitPrices);
  await tx
    .update(orders)
    .set({
      status: next.status,
      stockResult: next.stockResult,
      paymentResult: next.paymentResult,
      cancelReason: next.cancelReason,
      paymentDetail: next.paymentDetail,
      paymentAmountCents: next.paymentAmountCents,
      totalCents: next.totalCents,
      waitingOn: next.waitingOn,
      ...(decision.startsWaitingOn
        ? { waitingSince: sql`now()` }
        : next.waitingOn === null
          ? { waitingSince: null }
          : {}),
      updatedAt: sql`now()`,
    })
    .where(eq(orders.id, order.id));
  if (decision.steps.length) {
    // Each step timed when it is written (clock_timestamp, per row), not when the transaction began:
    // a transaction that waited for the order's lock must not date its steps before the one it waited for.
    await tx
      .insert(orderTimeline)
      .values(
        decision.steps.map((s) => ({ orderId: order.id, step: s.step, detail: s.detail, at: sql`clock_timestamp()` })),
      );
  }
  for (const p of decision.publish) {
    if (p.event === "orderConfirmed") {
      await addToOutbox(tx, messaging.outbox, EVENTS.orderConfirmed, {
        orderId: order.id,
        customerId: order.customerId,
        totalCents: BigInt(p.totalCents),
      });
    } else {
      await addToOutbox(tx, messaging.outbox, EVENTS.orderCancelled, {
        orderId: order.id,
        customerId: order.customerId,
        reason: p.reason,
        stockWasReserved: p.stockWasReserved,
      });
    }
  }
}

export const recordStockReserved = (tx: Tx, event: StockReserved) =>
  apply(tx, event.orderId, {
    kind: "stockReserved",
    totalCents: Number(event.totalCents),
    unitPrices: event.items.map((l) => ({ sku: l.sku, unitPriceCents: Number(l.unitPriceCents) })),
  });

export const rejectForStock = (tx: Tx, orderId: string, reason: string) =>
  apply(tx, orderId, { kind: "stockRejected", reason });

export const confirmPaid = (tx: Tx, event: PaymentSucceeded) =>
  apply(tx, event.orderId, { kind: "paymentSucceeded", amountCents: Number(event.amountCents) });

export const cancelUnpaid = (tx: Tx, orderId: string, reason: string) =>
  apply(tx, orderId, { kind: "paymentFailed", reason });

/**
 * The replay of inventory.stock.reserved (replay.ts): the lines' unit prices
 * and the total, recomputed from the event and overwritten. Nothing else: the
 * status, the timeline and the events already published stay as they are.
 */
export async function repriceFromStockReserved(tx: Tx, event: StockReserved): Promise<void> {
  const order = await lockOrder(tx, event.orderId);
  await setUnitPrices(
    tx,
    order.id,
    event.items.map((l) => ({ sku: l.sku, unitPriceCents: Number(l.unitPriceCents) })),
  );
  await tx
    .update(orders)
    .set({ totalCents: Number(event.totalCents), updatedAt: sql`now()` })
    .where(eq(orders.id, order.id));
}

export async function recordNotified(tx: Tx, orderId: string, kind: string): Promise<void> {
  const order = await lockOrder(tx, orderId);
  await tx
    .insert(orderTimeline)
    .values({ orderId: order.id, step: "notified", detail: kind, at: sql`clock_timestamp()` });
  await tx.update(orders).set({ updatedAt: sql`now()` }).where(eq(orders.id, order.id));
}
