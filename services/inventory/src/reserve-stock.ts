/**
 * On orders.order.placed: reserve every line of the order, or none.
 * Runs inside the consumer runner's transaction (its inbox record commits with
 * it). Rows are locked in SKU order, so two orders never deadlock on them.
 * Unknown SKUs and short stock are answers, not errors: the order is rejected
 * with a reason (inventory.stock.rejected).
 */

import { EVENTS, type OrderPlaced } from "@orderflow/contracts";
import type { Tx } from "@orderflow/db";
import { addToOutbox } from "@orderflow/messaging";
import { inArray, sql } from "drizzle-orm";
import { messaging, reservations, stock } from "./db/schema.js";

export interface ReserveStockHooks {
  /** FAULT_INVENTORY_CRASH_BEFORE_COMMIT: runs after the first write, before the commit. */
  afterFirstWrite?: () => void;
}

/**
 * A batch of placed orders: every SKU they name, locked in SKU order before the
 * first is reserved, so that two batches (whose orders name the same SKUs in
 * any order) never deadlock.
 */
export async function lockStockOfOrders(tx: Tx, orders: OrderPlaced[]): Promise<void> {
  const skus = [...new Set(orders.flatMap((o) => o.items.map((i) => i.sku)))].sort();
  if (skus.length)
    await tx.select({ sku: stock.sku }).from(stock).where(inArray(stock.sku, skus)).orderBy(stock.sku).for("update");
}

export async function reserveStock(tx: Tx, order: OrderPlaced, hooks: ReserveStockHooks = {}): Promise<void> {
  const lines = [...order.items].sort((a, b) => a.sku.localeCompare(b.sku));
  const rows = await tx
    .select()
    .from(stock)
    .where(
      inArray(
        stock.sku,
        lines.map((l) => l.sku),
      ),
    )
    .orderBy(stock.sku)
    .for("update");
  const bySku = new Map(rows.map((r) => [r.sku, r]));

  const problems = lines.flatMap((line) => {
    const row = bySku.get(line.sku);
    if (!row) return [`unknown SKU ${line.sku}`];
    if (line.quantity <= 0) return [`invalid quantity ${line.quantity} for ${line.sku}`];
    if (row.available < line.quantity) {
      return [`out of stock: ${line.sku} (requested ${line.quantity}, available ${row.available})`];
    }
    return [];
  });
  if (problems.length) {
    await addToOutbox(tx, messaging.outbox, EVENTS.stockRejected, {
      orderId: order.orderId,
      reason: problems.join("; "),
    });
    return;
  }

  let first = true;
  for (const line of lines) {
    await tx
      .update(stock)
      .set({
        available: sql`${stock.available} - ${line.quantity}`,
        reserved: sql`${stock.reserved} + ${line.quantity}`,
        updatedAt: sql`now()`,
      })
      .where(sql`${stock.sku} = ${line.sku}`);
    if (first) {
      first = false;
      hooks.afterFirstWrite?.();
    }
    await tx
      .insert(reservations)
      .values({ orderId: order.orderId, sku: line.sku, quantity: line.quantity, status: "reserved" });
  }
  const priced = order.items.map((line) => ({
    sku: line.sku,
    quantity: line.quantity,
    unitPriceCents: BigInt(bySku.get(line.sku)?.unitPriceCents ?? 0),
  }));
  await addToOutbox(tx, messaging.outbox, EVENTS.stockReserved, {
    orderId: order.orderId,
    customerId: order.customerId,
    paymentToken: order.paymentToken,
    items: priced,
    totalCents: priced.reduce((sum, l) => sum + l.unitPriceCents * BigInt(l.quantity), 0n),
  });
}
