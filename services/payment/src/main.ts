/** Composition root: config -> boot (logger, database, NATS) -> consumer, relay, ops; SIGTERM drains. */

import { fileURLToPath } from "node:url";
import { boot, requireNats, runEventService } from "@orderflow/runtime";
import { loadConfig } from "./config.js";
import { inbox } from "./db/schema.js";
import { onStockReserved } from "./handlers/stock-reserved.js";
import { simulatedProvider } from "./payment-provider.js";

const config = loadConfig();
const booted = requireNats(
  await boot({
    service: "payment",
    logLevel: config.logLevel,
    databaseUrl: config.databaseUrl,
    schema: "payments",
    migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
    nats: { url: config.natsUrl, user: config.natsUser, password: config.natsPassword },
  }),
);

await runEventService(booted, {
  service: "payment",
  schema: "payments",
  inbox,
  subscriptions: [onStockReserved(simulatedProvider(), { slowDbMs: config.faults.FAULT_PAYMENT_SLOW_DB_MS })],
  config,
  unsafe: config.faults.UNSAFE_PAYMENT_DARK_CONSUMER ? { disableInProgressAcks: true, disableTelemetry: true } : {},
  startInfo: { faults: config.faults },
});
