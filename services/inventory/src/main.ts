/** Composition root: config -> boot (logger, database, NATS) -> consumers, relay, stock queries, ops; SIGTERM drains. */

import { boot, runEventService } from "@orderflow/runtime";
import { inventorySubscriptions } from "./app.js";
import { loadConfig } from "./config.js";
import { consumerFailures, inbox } from "./db/schema.js";
import { seedCatalogue } from "./seed-catalogue.js";
import { serveStockQueries } from "./stock-queries.js";

const config = loadConfig();
const booted = await boot(
  { service: "inventory", schema: "inventory", migrations: new URL("../drizzle", import.meta.url) },
  config,
);
if (config.seedCatalogue) booted.logger.info({ inserted: await seedCatalogue(booted.db) }, "catalogue seeded");
const queries = serveStockQueries(booted.nc, booted.db, booted.logger);

await runEventService(booted, {
  inbox,
  failures: consumerFailures,
  subscriptions: inventorySubscriptions(config.faults),
  config,
  unsafe: { inboxOutsideTransaction: config.faults.UNSAFE_INVENTORY_INBOX_OUTSIDE_TRANSACTION },
  stopIntake: [["stop stock queries", () => Promise.all(queries.map((q) => q.drain()))]],
  startInfo: { faults: config.faults },
});
