/** The inventory service's subscriptions: one handler per consumed subject. */
import type { Subscription } from "@orderflow/messaging";
import type { InventoryConfig } from "./config.js";
import { onOrderCancelled } from "./handlers/order-cancelled.js";
import { onOrderConfirmed } from "./handlers/order-confirmed.js";
import { onOrderPlaced } from "./handlers/order-placed.js";

export function inventorySubscriptions(faults: InventoryConfig["faults"]): Subscription[] {
  return [onOrderPlaced(faults), onOrderCancelled, onOrderConfirmed];
}
