/** Composition root: config -> boot (logger, database, NATS) -> consumer, relay, ops; SIGTERM drains. */

import { boot, runEventService } from "@orderflow/runtime";
import { buildApp, PAYMENT } from "./app.js";
import { loadConfig } from "./config.js";
import { simulatedProvider } from "./payment-provider.js";

const config = loadConfig();
const booted = await boot(PAYMENT, config);

await runEventService(booted, {
  ...buildApp({ provider: simulatedProvider(), faults: config.faults }),
  config,
  startInfo: { faults: config.faults },
});
