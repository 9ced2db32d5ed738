/** Composition root: config -> boot (logger, database, NATS) -> consumer, relay, ops; SIGTERM drains. */

import { fileURLToPath } from "node:url";
import { startEventProcessing } from "@orderflow/messaging";
import { buildOpsServer } from "@orderflow/observability";
import { boot, onShutdown } from "@orderflow/runtime";
import { sql } from "drizzle-orm";
import { loadConfig } from "./config.js";
import { inbox } from "./db/schema.js";
import { onStockReserved } from "./handlers/stock-reserved.js";
import { simulatedProvider } from "./payment-provider.js";

const config = loadConfig();
const { logger, pool, db, nc, registry } = await boot({
  service: "payment",
  logLevel: config.logLevel,
  databaseUrl: config.databaseUrl,
  schema: "payments",
  migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
  nats: { url: config.natsUrl, user: config.natsUser, password: config.natsPassword },
});
if (!nc) throw new Error("payment needs NATS");

const events = await startEventProcessing({
  nc,
  pool,
  db,
  logger,
  registry,
  schema: "payments",
  inbox,
  subscriptions: [onStockReserved(simulatedProvider())],
  consumer: config,
  outboxPollMs: config.outboxPollMs,
  outboxBatchSize: config.outboxBatchSize,
});
const ops = buildOpsServer({
  logger,
  registry,
  readinessChecks: { postgres: () => db.execute(sql`SELECT 1`), nats: () => nc.flush() },
});
await ops.listen({ host: "0.0.0.0", port: config.httpPort });
logger.info({ httpPort: config.httpPort, faults: config.faults }, "payment service started");

onShutdown(logger, [
  ["stop consumers and relay", () => events.stop()],
  ["drain NATS", () => nc.drain()],
  ["close ops server", () => ops.close()],
  ["close database pool", () => pool.end()],
]);
