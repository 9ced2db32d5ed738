/** Composition root: config -> boot (logger, database, NATS) -> gRPC server, consumers, relay, ops; SIGTERM drains. */

import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { startEventProcessing } from "@orderflow/messaging";
import { boot, onShutdown } from "@orderflow/runtime";
import { buildApp, orderSubscriptions } from "./app.js";
import { loadConfig } from "./config.js";
import { inbox } from "./db/schema.js";
import { createOrderMetrics } from "./metrics.js";

const config = loadConfig();
const { logger, pool, db, nc, registry } = await boot({
  service: "order",
  logLevel: config.logLevel,
  databaseUrl: config.databaseUrl,
  schema: "orders",
  migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
  nats: { url: config.natsUrl, user: config.natsUser, password: config.natsPassword },
});
if (!nc) throw new Error("order needs NATS");
const metrics = createOrderMetrics(registry, pool, config.stalledAfterMs);
const { grpcServer, opsServer } = buildApp({
  db,
  logger,
  metrics,
  config,
  readinessChecks: { nats: () => nc.flush() },
});
const events = await startEventProcessing({
  nc,
  pool,
  db,
  logger,
  registry,
  schema: "orders",
  inbox,
  subscriptions: orderSubscriptions,
  consumer: config,
  outboxPollMs: config.outboxPollMs,
  outboxBatchSize: config.outboxBatchSize,
});

const grpcPort = await new Promise<number>((resolve, reject) =>
  grpcServer.bindAsync(`${config.grpcHost}:${config.grpcPort}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
    err ? reject(err) : resolve(port),
  ),
);
await opsServer.listen({ host: "0.0.0.0", port: config.httpPort });
logger.info({ grpcPort, httpPort: config.httpPort, faults: config.faults }, "order service started");

onShutdown(logger, [
  // tryShutdown refuses new calls and lets in-flight ones finish.
  ["stop gRPC intake", () => new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()))],
  ["stop consumers and relay", () => events.stop()],
  ["drain NATS", () => nc.drain()],
  ["close ops server", () => opsServer.close()],
  ["close database pool", () => pool.end()],
]);
