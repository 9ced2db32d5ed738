/** The only file of the order service that reads process.env. */
import {
  commonSettings,
  messagingSettings,
  parse,
  readFaultSwitches,
  readSettings,
  serviceSettings,
} from "@orderflow/config";

export const orderSettings = {
  ...commonSettings,
  ...messagingSettings,
  ...serviceSettings(8081),
  grpcPort: {
    env: "GRPC_PORT",
    description: "gRPC port of OrderService",
    default: 50051,
    parse: parse.integer(0, 65535),
  },
  grpcHost: { env: "GRPC_HOST", description: "gRPC bind address", default: "0.0.0.0", parse: parse.string },
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
