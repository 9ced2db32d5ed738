import { EVENTS, OrderPlacedSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import type { InventoryConfig } from "../config.js";
import { reserveStock } from "../reserve-stock.js";

export function onOrderPlaced(faults: InventoryConfig["faults"]) {
  return subscribe({
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
    replay: {
      replayable: false,
      why: "it reserves stock and announces the result: run again, it would hold the stock twice and start a second payment",
    },
  });
}
