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
import { newId, type Tx } from "@orderflow/db";
import { addToOutbox } from "@orderflow/messaging";
import { sql } from "drizzle-orm";
import { charges, messaging } from "./db/schema.js";
import type { PaymentProvider } from "./payment-provider.js";

export interface ChargeOptions {
  /** FAULT_PAYMENT_SLOW_DB_MS: a slow downstream query inside the transaction. */
  slowDbMs?: number;
}

export async function chargePayment(
  tx: Tx,
  event: StockReserved,
  provider: PaymentProvider,
  options: ChargeOptions = {},
): Promise<void> {
  if (options.slowDbMs) await tx.execute(sql`SELECT pg_sleep(${options.slowDbMs / 1000})`);
  const amountCents = Number(event.totalCents);
  const result = await provider.charge({ orderId: event.orderId, paymentToken: event.paymentToken, amountCents });
  const id = newId();
  const inserted = await tx
    .insert(charges)
    .values({
      id,
      orderId: event.orderId,
      amountCents,
      status: result.outcome,
      providerReference: result.outcome === "succeeded" ? result.reference : null,
      declineReason: result.outcome === "declined" ? result.reason : null,
    })
    .onConflictDoNothing({ target: charges.orderId })
    .returning({ id: charges.id });
  if (inserted.length === 0) return; // already charged: its event is already in the outbox
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
