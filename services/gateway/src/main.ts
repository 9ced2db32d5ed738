/** Composition root: config -> logger -> order client -> HTTP server; SIGTERM drains. */
import { createLogger } from "@orderflow/logging";
import { connectNats } from "@orderflow/messaging";
import { buildApp } from "./app.js";
import { worstCaseMs } from "./call-with-retry.js";
import { loadConfig } from "./config.js";
import { createInventoryClient } from "./inventory-client.js";
import { createOrderClient } from "./order-client.js";

const config = loadConfig();
const logger = createLogger({ service: "gateway", level: config.logLevel });
const orders = createOrderClient(config.orderGrpcAddress, config.retryPolicy, logger);
const nc = await connectNats({
  url: config.natsUrl,
  name: "gateway",
  user: config.natsUser,
  pass: config.natsPassword,
});
const inventory = createInventoryClient(nc, config.inventoryQueryTimeoutMs);
const app = buildApp({ logger, orders, inventory, bodyLimitBytes: config.bodyLimitBytes });

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

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down: finishing in-flight requests");
  await app.close();
  orders.close();
  await nc.drain();
  logger.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
