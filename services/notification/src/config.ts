/** The only file of the notification service that reads process.env. */
import { commonSettings, messagingSettings, readFaultSwitches, readSettings, serviceSettings } from "@orderflow/config";

export const notificationSettings = {
  ...commonSettings,
  ...messagingSettings,
  ...serviceSettings(8084),
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return { ...readSettings(notificationSettings, env), faults: readFaultSwitches("notification", env) };
}
