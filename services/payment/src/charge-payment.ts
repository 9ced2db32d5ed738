/**
 * On inventory.stock.reserved: charge the order's total, once.
 * The unique order_id of `charges` makes a second charge impossible; a
 * repeated event finds the charge and changes nothing.
 *
 * Why the provider is called BEFORE the row is inserted (notification does
 * the opposite, on purpose): the row records the provider's answer (succeeded
 * or declined, its reference), so it can only be written after it; and the
 * provider is idempotent by the order id (its idempotency key), so asking it
 * again on a redelivery returns the same answer without charging twice.
 */

import { EVENTS, type StockReserved } from "@orderflow/contracts";
import { newId, type Tx, unitOfWork } from "@orderflow/db";
import { addToOutbox } from "@orderflow/messaging";
import { inArray, sql } from "drizzle-orm";
import { charges, messaging } from "./db/schema.js";
import type { PaymentProvider } from "./payment-provider.js";

export interface ChargeOptions {
  /** FAULT_PAYMENT_SLOW_DB_MS: a slow downstream query inside the transaction. */
  slowDbMs?: number;
}

type NewCharge = typeof charges.$inferInsert;

/**
 * A transaction's charges (`unitOfWork`, packages/db): which orders are known
 * to be charged (read once for the whole batch) and the charges it adds,
 * inserted with the batch's outbox rows in one statement before COMMIT. The
 * insert has no ON CONFLICT: if another transaction charged one of these
 * orders meanwhile (two events for one order in two batches at once), the
 * unique order_id fails this batch, and its retry one message at a time finds
 * the charge and changes nothing; an event is never announced twice.
 */
const units = unitOfWork<{ charged: Set<string>; read: Set<string>; added: NewCharge[] }>(
  () => ({ charged: new Set(), read: new Set(), added: [] }),
  (tx, unit) => {
    const added = unit.added.splice(0);
    return added.length ? [tx.insert(charges).values(added).getSQL()] : [];
  },
);

/** Reads which of these orders are charged already, in one statement (a batch's first step). */
export async function readCharges(tx: Tx, orderIds: string[]): Promise<void> {
  const unit = units.of(tx);
  const wanted = [...new Set(orderIds)].filter((id) => !unit.read.has(id));
  if (!wanted.length) return;
  const rows = await tx.select({ orderId: charges.orderId }).from(charges).where(inArray(charges.orderId, wanted));
  for (const id of wanted) unit.read.add(id);
  for (const row of rows) unit.charged.add(row.orderId);
}

export async function chargePayment(
  tx: Tx,
  event: StockReserved,
  provider: PaymentProvider,
  options: ChargeOptions = {},
): Promise<void> {
  if (options.slowDbMs) await tx.execute(sql`SELECT pg_sleep(${options.slowDbMs / 1000})`);
  await readCharges(tx, [event.orderId]);
  const unit = units.of(tx);
  if (unit.charged.has(event.orderId)) return; // already charged: its event is already in the outbox
  const amountCents = Number(event.totalCents);
  const result = await provider.charge({ orderId: event.orderId, paymentToken: event.paymentToken, amountCents });
  const id = newId();
  unit.charged.add(event.orderId);
  unit.added.push({
    id,
    orderId: event.orderId,
    amountCents,
    status: result.outcome,
    providerReference: result.outcome === "succeeded" ? result.reference : null,
    declineReason: result.outcome === "declined" ? result.reason : null,
  });
  await units.saved(tx);
  if (result.outcome === "succeeded") {
    await addToOutbox(tx, messaging.outbox, EVENTS.paymentSucceeded, {
      orderId: event.orderId,
      paymentId: id,
      amountCents: BigInt(amountCents),
    });
  } else {
    await addToOutbox(tx, messaging.outbox, EVENTS.paymentFailed, { orderId: event.orderId, reason: result.reason });
  }
}
