/** The only file of the inventory service that reads process.env. */
import {
  commonSettings,
  messagingSettings,
  parse,
  readFaultSwitches,
  readSettings,
  serviceSettings,
} from "@orderflow/config";

export const inventorySettings = {
  ...commonSettings,
  ...messagingSettings,
  ...serviceSettings(8082),
  seedCatalogue: {
    env: "SEED_CATALOGUE",
    description: "insert the demo catalogue at start-up (existing SKUs are left alone)",
    default: true,
    parse: parse.boolean,
  },
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return { ...readSettings(inventorySettings, env), faults: readFaultSwitches("inventory", env) };
}

export type InventoryConfig = ReturnType<typeof loadConfig>;
