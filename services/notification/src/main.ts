/** Composition root: config -> boot (logger, database, NATS) -> consumers, relay, ops; SIGTERM drains. */

import { fileURLToPath } from "node:url";
import { boot, requireNats, runEventService } from "@orderflow/runtime";
import { loadConfig } from "./config.js";
import { inbox } from "./db/schema.js";
import { onOrderCancelled } from "./handlers/order-cancelled.js";
import { onOrderConfirmed } from "./handlers/order-confirmed.js";
import { fakeSender } from "./notification-sender.js";

const config = loadConfig();
const booted = requireNats(
  await boot({
    service: "notification",
    logLevel: config.logLevel,
    databaseUrl: config.databaseUrl,
    schema: "notifications",
    migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
    nats: { url: config.natsUrl, user: config.natsUser, password: config.natsPassword },
  }),
);
const sender = fakeSender((n) =>
  booted.logger.info({ notificationId: n.id, recipient: n.recipient }, `notification sent: ${n.body}`),
);

await runEventService(booted, {
  service: "notification",
  schema: "notifications",
  inbox,
  subscriptions: [onOrderConfirmed(sender), onOrderCancelled(sender)],
  config,
  startInfo: { faults: config.faults },
});
