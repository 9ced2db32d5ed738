/** The only file of the gateway that reads process.env. */
import {
  authSettings,
  commonSettings,
  natsSettings,
  parse,
  readFaultSwitches,
  readSettings,
  verifierConfig,
} from "@orderflow/config";

export const gatewaySettings = {
  ...commonSettings,
  port: { env: "PORT", description: "HTTP port of the public API", default: 8080, parse: parse.integer(0, 65535) },
  host: { env: "HOST", description: "HTTP bind address", default: "0.0.0.0", parse: parse.string },
  orderGrpcAddress: {
    env: "ORDER_GRPC_ADDRESS",
    description:
      "host:port of the order service's gRPC server; several replicas: IPv4 host:port list, comma-separated, or one DNS name resolving to each (round-robin)",
    default: "127.0.0.1:50051",
    parse: parse.string,
  },
  rpcDeadlineMs: {
    env: "ORDER_RPC_DEADLINE_MS",
    description: "deadline of each gRPC attempt to the order service",
    default: 2000,
    parse: parse.integer(10, 60_000),
  },
  rpcMaxAttempts: {
    env: "ORDER_RPC_MAX_ATTEMPTS",
    description: "attempts per call, the first included; retried only on UNAVAILABLE and DEADLINE_EXCEEDED",
    default: 3,
    parse: parse.integer(1, 10),
  },
  rpcBaseBackoffMs: {
    env: "ORDER_RPC_BACKOFF_MS",
    description: "base of the exponential backoff between attempts (full jitter)",
    default: 100,
    parse: parse.integer(0, 10_000),
  },
  rpcMaxBackoffMs: {
    env: "ORDER_RPC_MAX_BACKOFF_MS",
    description: "cap of the backoff between attempts",
    default: 1000,
    parse: parse.integer(0, 60_000),
  },
  ...natsSettings,
  inventoryQueryTimeoutMs: {
    env: "INVENTORY_QUERY_TIMEOUT_MS",
    description: "how long a stock query over NATS request-reply may take before 504",
    default: 1000,
    parse: parse.integer(10, 60_000),
  },
  ...authSettings,
  rateLimitMax: {
    env: "RATE_LIMIT_MAX",
    description: "requests one caller (the token's subject) may make to /api per RATE_LIMIT_WINDOW_MS; more get 429",
    default: 600,
    parse: parse.integer(1, 10_000_000),
  },
  rateLimitWindowMs: {
    env: "RATE_LIMIT_WINDOW_MS",
    description: "the rate limit's window",
    default: 60_000,
    parse: parse.integer(100, 3_600_000),
  },
  maxInFlightPlacements: {
    env: "GATEWAY_MAX_IN_FLIGHT_PLACEMENTS",
    description:
      "POST /api/v1/orders calls waiting on the order service at most; one more gets 503 with Retry-After at once instead of queueing until its deadline (size it as the order service's rate x the deadline: Little's law)",
    default: 32,
    parse: parse.integer(1, 100_000),
  },
  bodyLimitBytes: {
    env: "BODY_LIMIT_BYTES",
    description: "largest request body accepted; larger ones get 413",
    default: 65_536,
    parse: parse.integer(1024, 10_485_760),
  },
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const settings = readSettings(gatewaySettings, env);
  return {
    ...settings,
    verifier: verifierConfig(settings),
    retryPolicy: {
      maxAttempts: settings.rpcMaxAttempts,
      attemptTimeoutMs: settings.rpcDeadlineMs,
      baseBackoffMs: settings.rpcBaseBackoffMs,
      maxBackoffMs: settings.rpcMaxBackoffMs,
    },
    // The gateway has no fault switch of its own; reading them still refuses any in production.
    faults: readFaultSwitches("gateway", env),
  };
}
