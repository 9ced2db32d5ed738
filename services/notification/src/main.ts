/** Composition root: config -> boot (logger, database, NATS) -> consumers, relay, ops; SIGTERM drains. */

import { boot, runEventService } from "@orderflow/runtime";
import { buildApp, NOTIFICATION } from "./app.js";
import { loadConfig } from "./config.js";
import { fakeSender } from "./notification-sender.js";

const config = loadConfig();
const booted = await boot(NOTIFICATION, config);
const sender = fakeSender((n) =>
  booted.logger.info({ notificationId: n.id, recipient: n.recipient }, `notification sent: ${n.body}`),
);

await runEventService(booted, { ...buildApp({ sender }), config, startInfo: { faults: config.faults } });
