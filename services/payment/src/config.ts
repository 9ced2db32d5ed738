/** The only file of the payment service that reads process.env. */
import { commonSettings, messagingSettings, readFaultSwitches, readSettings, serviceSettings } from "@orderflow/config";

export const paymentSettings = {
  ...commonSettings,
  ...messagingSettings,
  ...serviceSettings(8083),
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return { ...readSettings(paymentSettings, env), faults: readFaultSwitches("payment", env) };
}
