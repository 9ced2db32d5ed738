/** Composition root: config -> logger -> order client -> HTTP server; SIGTERM drains. */
import { startVerifier } from "@orderflow/auth";
import { createLogger } from "@orderflow/logging";
import { registerSpanCount } from "@orderflow/observability";
import { connectNats, onShutdown } from "@orderflow/process";
import { collectDefaultMetrics, Registry } from "prom-client";
import { buildApp } from "./app.js";
import { worstCaseMs } from "./call-with-retry.js";
import { loadConfig } from "./config.js";
import { createInventoryClient } from "./inventory-client.js";
import { createOrderClient, orderRpcRetries } from "./order-client.js";

const config = loadConfig();
const logger = createLogger({ service: "gateway", level: config.logLevel });
const registry = new Registry();
registry.setDefaultLabels({ service: "gateway" });
collectDefaultMetrics({ register: registry });
registerSpanCount(registry);
const orders = createOrderClient(config.orderGrpcAddress, config.retryPolicy, logger, orderRpcRetries(registry));
const nc = await connectNats({
  url: config.natsUrl,
  name: "gateway",
  user: config.natsUser,
  pass: config.natsPassword,
});
const inventory = createInventoryClient(nc, config.inventoryQueryTimeoutMs);
const verifier = startVerifier(config.verifier, (fields, msg) => logger.warn(fields, msg));
const app = buildApp({
  logger,
  orders,
  inventory,
  verifier,
  bodyLimitBytes: config.bodyLimitBytes,
  maxInFlightPlacements: config.maxInFlightPlacements,
  rateLimit: { max: config.rateLimitMax, windowMs: config.rateLimitWindowMs },
  registry,
  // Ready when it can do its work: an order service reachable, NATS connected.
  readinessChecks: { order: () => orders.ready(1500), nats: () => nc.flush() },
});

await app.listen({ host: config.host, port: config.port });
logger.info(
  {
    port: config.port,
    orderService: config.orderGrpcAddress,
    retry: config.retryPolicy,
    worstCaseMs: worstCaseMs(config.retryPolicy),
  },
  "gateway started",
);

onShutdown(logger, [
  ["stop HTTP intake, finish in-flight requests", () => app.close()],
  ["close the order service channel", () => orders.close()],
  ["drain NATS", () => nc.drain()],
]);
