/** Composition root: config -> boot (logger, database, NATS) -> consumer, relay, ops; SIGTERM drains. */

import { boot, runEventService } from "@orderflow/runtime";
import { loadConfig } from "./config.js";
import { consumerFailures, inbox } from "./db/schema.js";
import { onStockReserved } from "./handlers/stock-reserved.js";
import { simulatedProvider } from "./payment-provider.js";

const config = loadConfig();
const booted = await boot(
  { service: "payment", schema: "payments", migrations: new URL("../drizzle", import.meta.url) },
  config,
);

await runEventService(booted, {
  inbox,
  failures: consumerFailures,
  subscriptions: [onStockReserved(simulatedProvider(), { slowDbMs: config.faults.FAULT_PAYMENT_SLOW_DB_MS })],
  config,
  unsafe: config.faults.UNSAFE_PAYMENT_DARK_CONSUMER ? { disableInProgressAcks: true, disableTelemetry: true } : {},
  startInfo: { faults: config.faults },
});
