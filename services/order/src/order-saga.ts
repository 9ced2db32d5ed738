/**
 * The order saga, applied: each result locks its order's row, asks the rules
 * (saga-rules.ts, a pure function) what it changes, and writes that: the unit
 * prices, the order row, the timeline steps, the events to publish in the
 * outbox. Everything runs in the consumer runner's transaction (the inbox
 * record commits with it); a repeated result changes nothing.
 *
 * A batch's unit of work: in a transaction of `transaction()` (the consumer
 * runner's), a batch's orders are locked in ONE statement (`lockOrders`, in id
 * order, so two batches never deadlock), each result changes its row in
 * memory, and just before COMMIT the changed rows, the new unit prices and the
 * timeline steps are written in one statement each (`beforeCommit`); the
 * outbox rows likewise (outbox.ts). A batch of 32 results costs a handful of
 * statements, not 32 times four. Outside such a transaction (a drizzle
 * transaction, a test) each result writes at once, the same statements.
 */

import { EVENTS, type PaymentSucceeded, type StockReserved } from "@orderflow/contracts";
import { type Tx, unitOfWork } from "@orderflow/db";
import { addToOutbox, PermanentError } from "@orderflow/messaging";
import { inArray, type SQL, sql } from "drizzle-orm";
import { messaging, orders, orderTimeline } from "./db/schema.js";
import { applyResult, type SagaResult, type SagaState } from "./saga-rules.js";

type OrderRow = typeof orders.$inferSelect;

/** What a transaction has locked and changed, written before its COMMIT. */
interface SagaUnit {
  /** Every order locked in this transaction, as it is now (changes applied). */
  locked: Map<string, OrderRow>;
  /** Orders changed, with what happens to waiting_since ("now", "null" or left as it is). */
  changed: Map<string, "now" | "null" | "keep">;
  prices: { orderId: string; sku: string; unitPriceCents: number }[];
  steps: { orderId: string; step: string; detail: string }[];
}

const units = unitOfWork<SagaUnit>(
  () => ({ locked: new Map(), changed: new Map(), prices: [], steps: [] }),
  (tx, unit) => changes(tx, unit),
);

/**
 * Locks the orders in ONE statement, in id order (a batch's lock, before its
 * first result is applied: two batches lock their common orders in the same
 * order and never deadlock). Orders already locked in this transaction are not
 * asked for again.
 */
export async function lockOrders(tx: Tx, orderIds: string[]): Promise<void> {
  const unit = units.of(tx);
  const wanted = [...new Set(orderIds)].filter((id) => !unit.locked.has(id)).sort();
  if (!wanted.length) return;
  const rows = await tx.select().from(orders).where(inArray(orders.id, wanted)).orderBy(orders.id).for("update");
  for (const row of rows) unit.locked.set(row.id, row);
}

async function lockOrder(tx: Tx, orderId: string): Promise<OrderRow> {
  await lockOrders(tx, [orderId]);
  const order = units.of(tx).locked.get(orderId);
  // The order row commits before its first event is published: a result for an unknown order is not ours.
  if (!order) throw new PermanentError(`order ${orderId} does not exist`);
  return order;
}

/**
 * The unit's changes, one write per table (unit prices, order rows, timeline
 * steps), taken out of the unit: sent before COMMIT with the transaction's
 * other writes, or at once (`units.saved`).
 */
function changes(tx: Tx, unit: SagaUnit): SQL[] {
  const { prices, steps } = unit;
  const writes: SQL[] = [];
  unit.prices = [];
  unit.steps = [];
  if (prices.length) {
    writes.push(sql`
      UPDATE orders.order_items i SET unit_price_cents = p."unitPriceCents"
        FROM jsonb_to_recordset(${JSON.stringify(prices)}::jsonb)
             AS p("orderId" uuid, sku text, "unitPriceCents" bigint)
       WHERE i.order_id = p."orderId" AND i.sku = p.sku`);
  }
  if (unit.changed.size) {
    const rows = [...unit.changed].map(([id, waiting]) => {
      const o = unit.locked.get(id) as OrderRow;
      return {
        id,
        waiting,
        status: o.status,
        stockResult: o.stockResult,
        paymentResult: o.paymentResult,
        cancelReason: o.cancelReason,
        paymentDetail: o.paymentDetail,
        paymentAmountCents: o.paymentAmountCents,
        totalCents: o.totalCents,
        waitingOn: o.waitingOn,
      };
    });
    unit.changed.clear();
    writes.push(sql`
      UPDATE orders.orders o SET
             status = c.status, stock_result = c."stockResult", payment_result = c."paymentResult",
             cancel_reason = c."cancelReason", payment_detail = c."paymentDetail",
             payment_amount_cents = c."paymentAmountCents", total_cents = c."totalCents",
             waiting_on = c."waitingOn",
             waiting_since = CASE c.waiting WHEN 'now' THEN now() WHEN 'null' THEN NULL ELSE o.waiting_since END,
             updated_at = now()
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS c(
             id uuid, waiting text, status text, "stockResult" text, "paymentResult" text, "cancelReason" text,
             "paymentDetail" text, "paymentAmountCents" bigint, "totalCents" bigint, "waitingOn" text)
       WHERE o.id = c.id`);
  }
  if (steps.length) {
    // Each step timed when it is written (clock_timestamp, per row, in the order they were
    // recorded), after the lock of its order: never dated before a step it waited for.
    writes.push(
      tx
        .insert(orderTimeline)
        .values(steps.map((step) => ({ ...step, at: sql`clock_timestamp()` })))
        .getSQL(),
    );
  }
  return writes;
}

/** Marks the order changed; written at once when the transaction does not defer (see UnitOfWork). */
async function changed(tx: Tx, orderId: string, waiting: "now" | "null" | "keep"): Promise<void> {
  const unit = units.of(tx);
  const before = unit.changed.get(orderId);
  // The last change that touched waiting_since decides it (a later "keep" keeps it).
  unit.changed.set(orderId, waiting === "keep" && before ? before : waiting);
  await units.saved(tx);
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

/** One result, applied to its order as the rules decide. */
async function apply(tx: Tx, orderId: string, result: SagaResult): Promise<void> {
  const order = await lockOrder(tx, orderId);
  const decision = applyResult(stateOf(order), result);
  if (!decision) return; // a repeat
  const { next } = decision;
  const unit = units.of(tx);
  for (const line of decision.unitPrices) unit.prices.push({ orderId: order.id, ...line });
  Object.assign(order, {
    status: next.status,
    stockResult: next.stockResult,
    paymentResult: next.paymentResult,
    cancelReason: next.cancelReason,
    paymentDetail: next.paymentDetail,
    paymentAmountCents: next.paymentAmountCents,
    totalCents: next.totalCents,
    waitingOn: next.waitingOn,
  });
  for (const s of decision.steps) unit.steps.push({ orderId: order.id, step: s.step, detail: s.detail });
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
  await changed(tx, order.id, decision.startsWaitingOn ? "now" : next.waitingOn === null ? "null" : "keep");
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
  const unit = units.of(tx);
  for (const l of event.items) {
    unit.prices.push({ orderId: order.id, sku: l.sku, unitPriceCents: Number(l.unitPriceCents) });
  }
  order.totalCents = Number(event.totalCents);
  await changed(tx, order.id, "keep");
}

export async function recordNotified(tx: Tx, orderId: string, kind: string): Promise<void> {
  const order = await lockOrder(tx, orderId);
  units.of(tx).steps.push({ orderId: order.id, step: "notified", detail: kind });
  await changed(tx, order.id, "keep");
}
