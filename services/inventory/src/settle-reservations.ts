/**
 * On orders.order.cancelled: give back what the order held, once.
 * On orders.order.confirmed: the held stock is sold; it leaves `reserved`.
 * Only reservations still in status "reserved" are touched, so a late or
 * repeated event changes nothing.
 */

import { EVENTS } from "@orderflow/contracts";
import type { Tx } from "@orderflow/db";
import { addToOutbox } from "@orderflow/messaging";
import { messaging } from "./db/schema.js";
import { lockHeldReservations, settleHeld } from "./stock-unit.js";

/**
 * A batch of settled orders: the reservations they still hold and the stock
 * rows those hold, locked in one statement before the first is settled (in
 * order id, then SKU order), so that two batches never deadlock.
 */
export async function lockStockOfOrders(tx: Tx, orderIds: string[]): Promise<void> {
  await lockHeldReservations(tx, orderIds);
}

export async function releaseStock(tx: Tx, orderId: string): Promise<void> {
  if ((await settleHeld(tx, orderId, "released")) > 0) {
    await addToOutbox(tx, messaging.outbox, EVENTS.stockReleased, { orderId });
  }
}

export async function commitStock(tx: Tx, orderId: string): Promise<void> {
  await settleHeld(tx, orderId, "committed");
}
