/** buildApp: what the inventory service consumes, wired but not running (main.ts runs it, and serves stock queries). */
import type { BootOptions, EventApp } from "@orderflow/runtime";
import type { InventoryConfig } from "./config.js";
import { inventorySubscriptions } from "./subscriptions.js";

export const INVENTORY = {
  service: "inventory",
  schema: "inventory",
  migrations: new URL("../drizzle", import.meta.url),
} satisfies BootOptions;

export function buildApp({ faults }: { faults: InventoryConfig["faults"] }): EventApp {
  return {
    subscriptions: inventorySubscriptions(faults),
    unsafe: { inboxOutsideTransaction: faults.UNSAFE_INVENTORY_INBOX_OUTSIDE_TRANSACTION },
  };
}
