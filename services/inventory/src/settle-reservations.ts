/**
 * On orders.order.cancelled: give back what the order held, once.
 * On orders.order.confirmed: the held stock is sold; it leaves `reserved`.
 * Only reservations still in status "reserved" are touched, so a late or
 * repeated event changes nothing.
 */

import { EVENTS } from "@orderflow/contracts";
import type { Tx } from "@orderflow/db";
import { addToOutbox } from "@orderflow/messaging";
import { and, eq, inArray, sql } from "drizzle-orm";
import { messaging, reservations } from "./db/schema.js";
import { changeStock, lockStock } from "./stock-unit.js";

/**
 * A batch of settled orders: the stock rows their reservations hold, locked in
 * SKU order before the first is settled (one statement), so that two batches
 * never deadlock.
 */
export async function lockStockOfOrders(tx: Tx, orderIds: string[]): Promise<void> {
  if (!orderIds.length) return;
  const held = await tx
    .selectDistinct({ sku: reservations.sku })
    .from(reservations)
    .where(and(inArray(reservations.orderId, orderIds), eq(reservations.status, "reserved")));
  await lockStock(
    tx,
    held.map((h) => h.sku),
  );
}

async function settleReservations(tx: Tx, orderId: string, to: "released" | "committed"): Promise<number> {
  const held = await tx
    .update(reservations)
    .set({ status: to, updatedAt: sql`now()` })
    .where(and(eq(reservations.orderId, orderId), eq(reservations.status, "reserved")))
    .returning({ sku: reservations.sku, quantity: reservations.quantity });
  const lines = held.sort((a, b) => a.sku.localeCompare(b.sku));
  await lockStock(
    tx,
    lines.map((l) => l.sku),
  );
  for (const line of lines) {
    await changeStock(tx, line.sku, {
      reserved: -line.quantity,
      ...(to === "released" ? { available: line.quantity } : {}),
    });
  }
  return held.length;
}

export async function releaseStock(tx: Tx, orderId: string): Promise<void> {
  if ((await settleReservations(tx, orderId, "released")) > 0) {
    await addToOutbox(tx, messaging.outbox, EVENTS.stockReleased, { orderId });
  }
}

export async function commitStock(tx: Tx, orderId: string): Promise<void> {
  await settleReservations(tx, orderId, "committed");
}
