/** Composition root: config -> boot (logger, database, NATS) -> consumers, relay, stock queries, ops; SIGTERM drains. */

import { boot, runEventService } from "@orderflow/runtime";
import { buildApp, INVENTORY } from "./app.js";
import { loadConfig } from "./config.js";
import { seedCatalogue } from "./seed-catalogue.js";
import { serveStockQueries } from "./stock-queries.js";

const config = loadConfig();
const booted = await boot(INVENTORY, config);
if (config.seedCatalogue) booted.logger.info({ inserted: await seedCatalogue(booted.db) }, "catalogue seeded");
// Stock queries run on their own connections, apart from the consumers' batches.
const queries = serveStockQueries(booted.nc, booted.requestDb, booted.logger);

await runEventService(booted, {
  ...buildApp({ faults: config.faults }),
  config,
  stopIntake: [["stop stock queries", () => Promise.all(queries.map((q) => q.drain()))]],
  startInfo: { faults: config.faults },
});
