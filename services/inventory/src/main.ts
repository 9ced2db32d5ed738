/** Composition root: config -> boot (logger, database, NATS) -> consumers, relay, stock queries, ops; SIGTERM drains. */

import { fileURLToPath } from "node:url";
import { boot, requireNats, runEventService } from "@orderflow/runtime";
import { inventorySubscriptions } from "./app.js";
import { loadConfig } from "./config.js";
import { inbox } from "./db/schema.js";
import { seedCatalogue } from "./seed-catalogue.js";
import { serveStockQueries } from "./stock-queries.js";

const config = loadConfig();
const booted = requireNats(
  await boot({
    service: "inventory",
    logLevel: config.logLevel,
    databaseUrl: config.databaseUrl,
    schema: "inventory",
    migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
    nats: { url: config.natsUrl, user: config.natsUser, password: config.natsPassword },
  }),
);
if (config.seedCatalogue) booted.logger.info({ inserted: await seedCatalogue(booted.db) }, "catalogue seeded");
const queries = serveStockQueries(booted.nc, booted.db, booted.logger);

await runEventService(booted, {
  service: "inventory",
  schema: "inventory",
  inbox,
  subscriptions: inventorySubscriptions(config.faults),
  config,
  unsafe: { inboxOutsideTransaction: config.faults.UNSAFE_INVENTORY_INBOX_OUTSIDE_TRANSACTION },
  stopIntake: [["stop stock queries", () => Promise.all(queries.map((q) => q.drain()))]],
  startInfo: { faults: config.faults },
});
