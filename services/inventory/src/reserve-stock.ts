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
import { messaging } from "./db/schema.js";
import { changeStock, lockedStock, lockStock } from "./stock-unit.js";

export interface ReserveStockHooks {
  /** FAULT_INVENTORY_CRASH_BEFORE_COMMIT: runs after the first write, before the commit. */
  afterFirstWrite?: () => void;
}

/**
 * A batch of placed orders: every SKU they name, locked in SKU order before the
 * first is reserved (one statement), so that two batches (whose orders name
 * the same SKUs in any order) never deadlock.
 */
export async function lockStockOfOrders(tx: Tx, orders: OrderPlaced[]): Promise<void> {
  await lockStock(
    tx,
    orders.flatMap((o) => o.items.map((i) => i.sku)),
  );
}

export async function reserveStock(tx: Tx, order: OrderPlaced, hooks: ReserveStockHooks = {}): Promise<void> {
  const lines = [...order.items].sort((a, b) => a.sku.localeCompare(b.sku));
  await lockStock(
    tx,
    lines.map((l) => l.sku),
  );

  const problems = lines.flatMap((line) => {
    const row = lockedStock(tx, line.sku);
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
    await changeStock(
      tx,
      line.sku,
      { available: -line.quantity, reserved: line.quantity },
      { orderId: order.orderId, sku: line.sku, quantity: line.quantity },
    );
    if (first) {
      first = false;
      hooks.afterFirstWrite?.();
    }
  }
  const priced = order.items.map((line) => ({
    sku: line.sku,
    quantity: line.quantity,
    unitPriceCents: BigInt(lockedStock(tx, line.sku)?.unitPriceCents ?? 0),
  }));
  await addToOutbox(tx, messaging.outbox, EVENTS.stockReserved, {
    orderId: order.orderId,
    customerId: order.customerId,
    paymentToken: order.paymentToken,
    items: priced,
    totalCents: priced.reduce((sum, l) => sum + l.unitPriceCents * BigInt(l.quantity), 0n),
  });
}
