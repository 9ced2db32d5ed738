/** The only file of the notification service that reads process.env. */
import { commonSettings, messagingSettings, parse, readFaultSwitches, readSettings } from "@orderflow/config";

export const notificationSettings = {
  ...commonSettings,
  ...messagingSettings,
  databaseUrl: { env: "DATABASE_URL", description: "Postgres connection URL", parse: parse.url },
  httpPort: {
    env: "HTTP_PORT",
    description: "port of /healthz, /readyz and /metrics",
    default: 8084,
    parse: parse.integer(0, 65535),
  },
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return { ...readSettings(notificationSettings, env), faults: readFaultSwitches("notification", env) };
}
