/** Composition root: config -> boot (logger, database, NATS) -> consumers, relay, queries, ops; SIGTERM drains. */

import { fileURLToPath } from "node:url";
import { startEventProcessing } from "@orderflow/messaging";
import { boot, onShutdown } from "@orderflow/runtime";
import { buildOps, inventorySubscriptions } from "./app.js";
import { loadConfig } from "./config.js";
import { inbox } from "./db/schema.js";
import { seedCatalogue } from "./seed-catalogue.js";
import { serveStockQueries } from "./stock-queries.js";

const config = loadConfig();
const { logger, pool, db, nc, registry } = await boot({
  service: "inventory",
  logLevel: config.logLevel,
  databaseUrl: config.databaseUrl,
  schema: "inventory",
  migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
  nats: { url: config.natsUrl, user: config.natsUser, password: config.natsPassword },
});
if (!nc) throw new Error("inventory needs NATS");
if (config.seedCatalogue) logger.info({ inserted: await seedCatalogue(db) }, "catalogue seeded");

const events = await startEventProcessing({
  nc,
  pool,
  db,
  logger,
  registry,
  schema: "inventory",
  inbox,
  subscriptions: inventorySubscriptions(config.faults),
  consumer: config,
  outboxPollMs: config.outboxPollMs,
  outboxBatchSize: config.outboxBatchSize,
  unsafe: { inboxOutsideTransaction: config.faults.UNSAFE_INVENTORY_INBOX_OUTSIDE_TRANSACTION },
});
const queries = serveStockQueries(nc, db, logger);
const ops = buildOps({ logger, registry, db, nc });
await ops.listen({ host: "0.0.0.0", port: config.httpPort });
logger.info({ httpPort: config.httpPort, faults: config.faults }, "inventory service started");

onShutdown(logger, [
  ["stop stock queries", () => Promise.all(queries.map((q) => q.drain()))],
  ["stop consumers and relay", () => events.stop()],
  ["drain NATS", () => nc.drain()],
  ["close ops server", () => ops.close()],
  ["close database pool", () => pool.end()],
]);
