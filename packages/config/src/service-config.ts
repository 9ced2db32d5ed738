/** The settings and the config loader every service's config.ts is made of. */
import { type DatabaseServiceName, service } from "@orderflow/system";
import { type FaultSwitch, readFaultSwitches } from "./fault-switches.js";
import {
  checkRetentionWindows,
  commonSettings,
  messagingSettings,
  readSettings,
  type SettingsShape,
  serviceSettings,
} from "./settings.js";

/** Every setting of an event-driven service: common, messaging, its database, and its ops port from the catalogue. */
export function eventServiceSettings(name: DatabaseServiceName) {
  return { ...commonSettings, ...messagingSettings, ...serviceSettings(service(name).httpPort) };
}

/** A service's settings and its fault switches, read from the environment. */
export function loadServiceConfig<S extends SettingsShape, N extends FaultSwitch<unknown>["service"]>(
  name: N,
  settings: S,
  env: NodeJS.ProcessEnv,
) {
  const values = readSettings(settings, env);
  // An event-driven service's retention windows must not let a duplicate through.
  if ("inboxRetentionHours" in values)
    checkRetentionWindows(values as unknown as Parameters<typeof checkRetentionWindows>[0]);
  return { ...values, faults: readFaultSwitches(name, env) };
}
