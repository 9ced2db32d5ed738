/**
 * What the inventory service consumes: a placed order (reserve its stock, all
 * or none), and its outcome (release the reservation, or settle it). One
 * subscription per subject.
 */
import { EVENTS, OrderCancelledSchema, OrderConfirmedSchema, OrderPlacedSchema } from "@orderflow/contracts";
import { type Subscription, subscribe } from "@orderflow/messaging";
import type { InventoryConfig } from "./config.js";
import { lockStockOfOrders as lockStockOfPlacedOrders, reserveStock } from "./reserve-stock.js";
import { commitStock, lockStockOfOrders, releaseStock } from "./settle-reservations.js";

export function inventorySubscriptions(faults: InventoryConfig["faults"]): Subscription[] {
  return [
    subscribe({
      durable: "inventory-order-placed",
      subject: EVENTS.orderPlaced.subject,
      schema: OrderPlacedSchema,
      handler: async ({ tx, event, log }) => {
        const failSku = faults.FAULT_INVENTORY_FAIL_SKU;
        if (failSku && event.items.some((i) => i.sku === failSku)) {
          throw new Error(`FAULT_INVENTORY_FAIL_SKU: simulated handler bug on SKU ${failSku}`);
        }
        await reserveStock(tx, event, {
          afterFirstWrite: faults.FAULT_INVENTORY_CRASH_BEFORE_COMMIT
            ? () => {
                log.warn(
                  { orderId: event.orderId },
                  "FAULT_INVENTORY_CRASH_BEFORE_COMMIT: killing the process before commit",
                );
                process.kill(process.pid, "SIGKILL");
              }
            : undefined,
        });
      },
      // Every SKU the batch touches, locked in SKU order before any order is reserved.
      batch: { lockBatch: lockStockOfPlacedOrders },
      replay: {
        replayable: false,
        why: "it reserves stock and announces the result: run again, it would hold the stock twice and start a second payment",
      },
    }),
    subscribe({
      durable: "inventory-order-cancelled",
      subject: EVENTS.orderCancelled.subject,
      schema: OrderCancelledSchema,
      handler: ({ tx, event }) => releaseStock(tx, event.orderId),
      batch: {
        lockBatch: (tx, events) =>
          lockStockOfOrders(
            tx,
            events.map((e) => e.orderId),
          ),
      },
      replay: {
        replayable: true,
        how: "the handler itself: it releases only reservations still held, so a replay changes nothing already right",
      },
    }),
    subscribe({
      durable: "inventory-order-confirmed",
      subject: EVENTS.orderConfirmed.subject,
      schema: OrderConfirmedSchema,
      handler: ({ tx, event }) => commitStock(tx, event.orderId),
      batch: {
        lockBatch: (tx, events) =>
          lockStockOfOrders(
            tx,
            events.map((e) => e.orderId),
          ),
      },
      replay: {
        replayable: true,
        how: "the handler itself: it settles only reservations still held, so a replay changes nothing already right",
      },
    }),
  ];
}
