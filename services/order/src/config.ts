/** The only file of the order service that reads process.env. */
import { authSettings, eventServiceSettings, loadServiceConfig, parse, verifierConfig } from "@orderflow/config";

export const orderSettings = {
  ...eventServiceSettings("order"),
  ...authSettings,
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
  admissionMaxPending: {
    env: "ADMISSION_MAX_PENDING_ORDERS",
    description:
      "admission control: at this many pending orders, PlaceOrder refuses new ones (RESOURCE_EXHAUSTED; the gateway answers 503 with Retry-After); size it as completion rate x the longest an accepted order should wait (Little's law); 0: off",
    default: 600,
    parse: parse.integer(0, 10_000_000),
  },
  idempotencyKeyRetentionHours: {
    env: "IDEMPOTENCY_KEY_RETENTION_HOURS",
    description:
      "how long an idempotency key is remembered: a client may retry a placement with the same key for this long; later, the same key places a new order",
    default: 24,
    parse: parse.decimal(0.001, 24 * 3650),
  },
  admissionRefreshMs: {
    env: "ADMISSION_REFRESH_MS",
    description: "how often admission control counts the pending orders",
    default: 200,
    parse: parse.integer(10, 60_000),
  },
} as const;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env) => {
  const config = loadServiceConfig("order", orderSettings, env);
  return { ...config, verifier: verifierConfig(config) };
};

export type OrderConfig = ReturnType<typeof loadConfig>;
