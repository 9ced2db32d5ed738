/** Composition root: config -> boot (logger, database, NATS) -> consumers, relay, ops; SIGTERM drains. */

import { boot, runEventService } from "@orderflow/runtime";
import { loadConfig } from "./config.js";
import { consumerFailures, inbox } from "./db/schema.js";
import { onOrderCancelled } from "./handlers/order-cancelled.js";
import { onOrderConfirmed } from "./handlers/order-confirmed.js";
import { fakeSender } from "./notification-sender.js";

const config = loadConfig();
const booted = await boot(
  { service: "notification", schema: "notifications", migrations: new URL("../drizzle", import.meta.url) },
  config,
);
const sender = fakeSender((n) =>
  booted.logger.info({ notificationId: n.id, recipient: n.recipient }, `notification sent: ${n.body}`),
);

await runEventService(booted, {
  inbox,
  failures: consumerFailures,
  subscriptions: [onOrderConfirmed(sender), onOrderCancelled(sender)],
  config,
  startInfo: { faults: config.faults },
});
