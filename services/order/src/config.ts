/** The only file of the order service that reads process.env. */
import { eventServiceSettings, loadServiceConfig, parse } from "@orderflow/config";

export const orderSettings = {
  ...eventServiceSettings("order"),
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

export const loadConfig = (env: NodeJS.ProcessEnv = process.env) => loadServiceConfig("order", orderSettings, env);

export type OrderConfig = ReturnType<typeof loadConfig>;
