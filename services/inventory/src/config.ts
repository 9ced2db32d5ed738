/** The only file of the inventory service that reads process.env. */
import { eventServiceSettings, loadServiceConfig, parse } from "@orderflow/config";

export const inventorySettings = {
  ...eventServiceSettings("inventory"),
  seedCatalogue: {
    env: "SEED_CATALOGUE",
    description: "insert the demo catalogue at start-up (existing SKUs are left alone)",
    default: true,
    parse: parse.boolean,
  },
} as const;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadServiceConfig("inventory", inventorySettings, env);

export type InventoryConfig = ReturnType<typeof loadConfig>;
