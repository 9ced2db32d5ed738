/** Composition root: config -> boot (logger, database, NATS) -> consumers, relay, notifier, ops; SIGTERM drains. */

import { boot, runEventService } from "@orderflow/runtime";
import { Counter } from "prom-client";
import { buildApp, NOTIFICATION } from "./app.js";
import { loadConfig } from "./config.js";
import { fakeSender } from "./notification-sender.js";
import { notifier as startNotifier } from "./send-notification.js";

/** How often claimed notifications left unsent (a crash after COMMIT, a failed send) are looked for. */
const SWEEP_EVERY_MS = 2000;

const config = loadConfig();
const booted = await boot(NOTIFICATION, config);
const { logger, registry } = booted;
const sender = fakeSender((n) =>
  logger.info({ notificationId: n.id, recipient: n.recipient }, `notification sent: ${n.body}`),
);
const sendFailures = new Counter({
  name: "notification_send_failures_total",
  help: "Notifications the provider refused or failed to take (each is retried with backoff)",
  registers: [registry],
});
const notifier = startNotifier({
  db: booted.db,
  sender,
  sweepEveryMs: SWEEP_EVERY_MS,
  onSendFailed: ({ notificationId, attempts, err }) => {
    sendFailures.inc();
    logger.warn({ notificationId, attempts, err: err.message }, "sending a notification failed; retried with backoff");
  },
  onDispatchFailed: (err) =>
    logger.warn({ err: err.message }, "dispatching notifications failed; the sweep sends them once due"),
});

await runEventService(booted, { ...buildApp({ notifier }), config, startInfo: { faults: config.faults } });
