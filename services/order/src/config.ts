/** The only file of the order service that reads process.env. */
import { commonSettings, messagingSettings, parse, readFaultSwitches, readSettings } from "@orderflow/config";

export const orderSettings = {
  ...commonSettings,
  ...messagingSettings,
  databaseUrl: { env: "DATABASE_URL", description: "Postgres connection URL", parse: parse.url },
  grpcPort: {
    env: "GRPC_PORT",
    description: "gRPC port of OrderService",
    default: 50051,
    parse: parse.integer(0, 65535),
  },
  grpcHost: { env: "GRPC_HOST", description: "gRPC bind address", default: "0.0.0.0", parse: parse.string },
  httpPort: {
    env: "HTTP_PORT",
    description: "port of /healthz, /readyz and /metrics",
    default: 8081,
    parse: parse.integer(0, 65535),
  },
  stalledAfterMs: {
    env: "ORDER_STALLED_AFTER_MS",
    description: "a pending order waiting this long on one step is reported as stalled",
    default: 30_000,
    parse: parse.integer(1),
  },
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return { ...readSettings(orderSettings, env), faults: readFaultSwitches("order", env) };
}

export type OrderConfig = ReturnType<typeof loadConfig>;
